package io.shardgate.controlplane.ads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.app.XdsServerSecurity;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.security.XdsTlsFiles;
import io.shardgate.templates.TestPki;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * xDS over TLS, mutual TLS and the role identity rule, on the real {@code serve} (in-process, real Micronaut gRPC
 * server on a loopback port) with <b>real grpc-netty TLS clients</b> playing Envoys; certificates are made per run
 * by {@link TestPki}. Which roles are refused is checked on raw ADS streams (state of the world and delta); the
 * real Envoy over mutual TLS is {@code XdsMutualTlsE2ETest}.
 *
 * <p>Timeouts are liveness bounds only.
 */
class XdsTlsProtocolTest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String TRUST_DOMAIN = "shardgate.test";

  @TempDir Path work;

  private TestPki ca;
  private Path caFile;
  private TestPki.Issued server;
  private ExampleConfig config;
  private int xdsPort;
  private ApplicationContext controlPlane;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<AutoCloseable> streams = new ArrayList<>();

  @BeforeEach
  void pki() throws IOException {
    ca = TestPki.create("xds-tls-protocol-test-ca");
    caFile = ca.writeCertificate(work.resolve("pki/ca.crt"));
    server = ca.leaf("shardgate").sans("IP:127.0.0.1").writeTo(work.resolve("pki"), "server");
    int[] ports = ExampleConfig.freePorts(6);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    xdsPort = ports[4];
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable stream : streams) {
      stream.close();
    }
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  @Test
  void withTheRoleRuleACertificateIsServedTheRoleItNamesAndRefusedEveryOther() {
    serve(true, true, TRUST_DOMAIN);
    ManagedChannel protectedEnvoy = channel(client("protected",
        "URI:spiffe://" + TRUST_DOMAIN + "/ns/gloo-system/sa/gateway-proxy-protected"));

    SotwClient own = sotw(protectedEnvoy, ExampleConfig.PROTECTED_ROLE);
    DiscoveryResponse lds = own.subscribeAndAck(LDS, List.of(), LIVENESS);
    assertEquals(List.of(ExampleConfig.listenerName(config.protectedPort())), listenerNames(lds));

    SotwClient other = sotw(protectedEnvoy, ExampleConfig.NOISY_ROLE);
    other.subscribe(LDS, List.of());
    Status refused = awaitStatus(other::error, "the stream asking for the noisy role");
    assertEquals(Status.Code.PERMISSION_DENIED, refused.getCode(), refused::toString);
    assertTrue(refused.getDescription().contains("does not name role " + ExampleConfig.NOISY_ROLE), refused::toString);
    assertTrue(refused.getDescription().contains("spiffe://" + TRUST_DOMAIN + "/ns/gloo-system/sa/gateway-proxy-noisy"),
        refused::toString);
    assertEquals(List.of(), other.received(), "nothing of the noisy shard reached the protected certificate");

    DeltaClient delta = new DeltaClient(protectedEnvoy, "delta", ExampleConfig.NOISY_ROLE);
    streams.add(delta);
    delta.subscribe(LDS, List.of(), Map.of());
    Status deltaRefused = awaitStatus(delta::error, "the delta stream asking for the noisy role");
    assertEquals(Status.Code.PERMISSION_DENIED, deltaRefused.getCode(), deltaRefused::toString);
    assertEquals(List.of(), delta.received());

    // The refused streams did not disturb the allowed one on the same connection.
    DiscoveryResponse again = own.subscribeAndAck(Resources.V3.CLUSTER_TYPE_URL, List.of(), LIVENESS);
    assertTrue(again.getResourcesCount() > 0, again::toString);
  }

  @Test
  void aDnsNameIdentityWorksTooAndNoRoleOrAnotherTrustDomainIsRefused() {
    serve(true, true, TRUST_DOMAIN);
    ManagedChannel noisyEnvoy = channel(client("noisy", "DNS:gateway-proxy-noisy.gloo-system"));
    DeltaClient own = new DeltaClient(noisyEnvoy, "noisy", ExampleConfig.NOISY_ROLE);
    streams.add(own);
    DeltaDiscoveryResponse lds = own.subscribeAndAck(LDS, List.of(), LIVENESS);
    assertEquals(1, lds.getResourcesCount(), lds::toString);

    SotwClient noRole = sotw(noisyEnvoy, "");
    noRole.subscribe(LDS, List.of());
    Status refused = awaitStatus(noRole::error, "the stream without a role");
    assertEquals(Status.Code.PERMISSION_DENIED, refused.getCode(), refused::toString);
    assertTrue(refused.getDescription().contains("names no role"), refused::toString);
    assertEquals(List.of(), noRole.received(), "the fallback listener is not served either");

    ManagedChannel foreignDomain = channel(client("elsewhere",
        "URI:spiffe://other.example/ns/gloo-system/sa/gateway-proxy-protected"));
    SotwClient elsewhere = sotw(foreignDomain, ExampleConfig.PROTECTED_ROLE);
    elsewhere.subscribe(LDS, List.of());
    assertEquals(Status.Code.PERMISSION_DENIED,
        awaitStatus(elsewhere::error, "the stream of another trust domain").getCode());
  }

  @Test
  void aStreamThatLaterAsksForAnotherRoleIsEnded() throws Exception {
    serve(true, true, null);
    ManagedChannel channel = channel(client("protected", "DNS:gateway-proxy-protected.gloo-system"));
    BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
    BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .streamAggregatedResources(new StreamObserver<>() {
          @Override
          public void onNext(DiscoveryResponse response) {
            responses.add(response);
          }

          @Override
          public void onError(Throwable t) {
            errors.add(t);
          }

          @Override
          public void onCompleted() {
          }
        });
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node(ExampleConfig.PROTECTED_ROLE)).setTypeUrl(LDS).build());
    DiscoveryResponse first = responses.poll(LIVENESS.toSeconds(), TimeUnit.SECONDS);
    assertNotNull(first, "no listeners for the role the certificate names");
    // An ACK without a node keeps the stream's role; then a node naming another shard.
    requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(LDS).setVersionInfo(first.getVersionInfo())
        .setResponseNonce(first.getNonce()).build());
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node(ExampleConfig.NOISY_ROLE))
        .setTypeUrl(Resources.V3.CLUSTER_TYPE_URL).build());
    Throwable error = errors.poll(LIVENESS.toSeconds(), TimeUnit.SECONDS);
    assertNotNull(error, "the stream was not ended when it asked for another role");
    assertEquals(Status.Code.PERMISSION_DENIED, Status.fromThrowable(error).getCode(), error::toString);
    for (DiscoveryResponse r : responses) {
      assertNotEquals(Resources.V3.CLUSTER_TYPE_URL, r.getTypeUrl(), "clusters of the other role were sent");
    }
  }

  @Test
  void withAClientCaAClientWithoutACertificateOrWithAForeignOneIsRefused() {
    serve(true, false, null);
    SotwClient anonymous = sotw(channel(null), ExampleConfig.PROTECTED_ROLE);
    anonymous.subscribe(LDS, List.of());
    Status refused = awaitStatus(anonymous::error, "the stream without a client certificate");
    assertEquals(Status.Code.UNAVAILABLE, refused.getCode(), refused::toString);
    assertEquals(List.of(), anonymous.received());

    TestPki foreignCa = TestPki.create("someone-elses-ca");
    TestPki.Issued foreign = foreignCa.leaf("impostor").sans("DNS:gateway-proxy-protected.gloo-system")
        .writeTo(work.resolve("pki"), "foreign");
    SotwClient impostor = sotw(channel(foreign), ExampleConfig.PROTECTED_ROLE);
    impostor.subscribe(LDS, List.of());
    assertEquals(Status.Code.UNAVAILABLE, awaitStatus(impostor::error, "the foreign certificate's stream").getCode());
    assertEquals(List.of(), impostor.received());

    // Without the role rule, any certificate the CA signed may read any role.
    SotwClient signed = sotw(channel(client("any", "DNS:something.else")), ExampleConfig.NOISY_ROLE);
    assertEquals(1, signed.subscribeAndAck(LDS, List.of(), LIVENESS).getResourcesCount());
  }

  @Test
  void tlsWithoutAClientCaRefusesPlaintextAndRotatesTheCertificateForNewConnections() throws Exception {
    serve(false, false, null);
    ManagedChannel plaintext = NettyChannelBuilder.forAddress("127.0.0.1", xdsPort).usePlaintext().build();
    channels.add(plaintext);
    SotwClient clear = sotw(plaintext, ExampleConfig.PROTECTED_ROLE);
    clear.subscribe(LDS, List.of());
    assertEquals(Status.Code.UNAVAILABLE, awaitStatus(clear::error, "the plaintext stream").getCode());

    SotwClient before = sotw(channel(null), ExampleConfig.PROTECTED_ROLE);
    assertEquals(1, before.subscribeAndAck(LDS, List.of(), LIVENESS).getResourcesCount());
    assertEquals(server.certificate().getSerialNumber(), servedSerial());

    // A rotation writes the new pair over the old files (as cert-manager does); the next check picks it up.
    TestPki.Issued next = ca.leaf("shardgate-next").sans("IP:127.0.0.1").writeTo(work.resolve("pki"), "next");
    Files.move(next.certificateFile(), server.certificateFile(), StandardCopyOption.REPLACE_EXISTING);
    Files.move(next.keyFile(), server.keyFile(), StandardCopyOption.REPLACE_EXISTING);
    assertTrue(controlPlane.getBean(XdsServerSecurity.class).credentials().reloadIfChanged());
    assertEquals(next.certificate().getSerialNumber(), servedSerial());
    SotwClient after = sotw(channel(null), ExampleConfig.NOISY_ROLE);
    assertEquals(1, after.subscribeAndAck(LDS, List.of(), LIVENESS).getResourcesCount());
    // The stream opened before the rotation keeps working.
    assertTrue(before.subscribeAndAck(Resources.V3.CLUSTER_TYPE_URL, List.of(), LIVENESS).getResourcesCount() > 0);
  }

  // ---- helpers ----

  private void serve(boolean mutual, boolean requireRoleIdentity, String trustDomain) {
    ServeSecurity security = new ServeSecurity("127.0.0.1", List.of(),
        new XdsTlsFiles(server.certificateFile(), server.keyFile(), mutual ? caFile : null), requireRoleIdentity,
        trustDomain);
    int[] admin = ExampleConfig.freePorts(1);
    controlPlane = ServeCommand.start(config.dir(), work.resolve("state"), xdsPort, admin[0], "127.0.0.1", security);
    ServeCommand.awaitFirstTranslation(controlPlane);
  }

  private TestPki.Issued client(String name, String... sans) {
    return ca.leaf(name).sans(sans).writeTo(work.resolve("pki"), "client-" + name);
  }

  /** A TLS channel that trusts the test CA and presents {@code identity} (none when null). */
  private ManagedChannel channel(TestPki.Issued identity) {
    try {
      var tls = GrpcSslContexts.forClient().trustManager(caFile.toFile());
      if (identity != null) {
        tls.keyManager(identity.certificateFile().toFile(), identity.keyFile().toFile());
      }
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", xdsPort).sslContext(tls.build()).build();
      channels.add(channel);
      return channel;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private SotwClient sotw(ManagedChannel channel, String role) {
    SotwClient client = new SotwClient(channel, "test-" + role, role);
    streams.add(client);
    return client;
  }

  private static Node node(String role) {
    return Node.newBuilder().setId("switcher")
        .setMetadata(Struct.newBuilder().putFields("role", Value.newBuilder().setStringValue(role).build()))
        .build();
  }

  /** The serial of the certificate a fresh TLS handshake with the xDS port is given. */
  private BigInteger servedSerial() throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca.certificate());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, tmf.getTrustManagers(), null);
    try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", xdsPort)) {
      socket.setSoTimeout((int) LIVENESS.toMillis());
      SSLParameters params = socket.getSSLParameters();
      params.setApplicationProtocols(new String[] {"h2"});
      socket.setSSLParameters(params);
      socket.startHandshake();
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  private static List<String> listenerNames(DiscoveryResponse response) {
    List<String> names = new ArrayList<>();
    for (var any : response.getResourcesList()) {
      try {
        names.add(any.unpack(Listener.class).getName());
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
    }
    return names;
  }

  /** Waits until a stream has failed and returns its status. */
  private static Status awaitStatus(Supplier<Throwable> error, String what) {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (System.nanoTime() - deadline < 0) {
      Throwable t = error.get();
      if (t != null) {
        return Status.fromThrowable(t);
      }
      ServedExample.sleep(Duration.ofMillis(20));
    }
    return fail(what + " did not fail within " + LIVENESS);
  }
}
