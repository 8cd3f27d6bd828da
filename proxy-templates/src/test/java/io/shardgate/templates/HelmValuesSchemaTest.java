package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code helm/shardgate/values.schema.json}, applied by the real helm: a misspelled key anywhere, the top level
 * and inside a gatewayProxies entry included, fails {@code helm template} (as it fails {@code helm install}) with
 * a message naming the key and where it is, instead of being ignored.
 */
class HelmValuesSchemaTest {

  @TempDir
  Path work;

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      top level                    | controlPlan: {replicas: 2}                                     | (root): Additional property controlPlan is not allowed
      control plane                | controlPlane: {replica: 2}                                     | controlPlane: Additional property replica is not allowed
      gatewayProxies entry         | gatewayProxies: {payments: {replicas: 3}}                      | gatewayProxies.payments: Additional property replicas is not allowed
      entry's podTemplate          | gatewayProxies: {payments: {podTemplate: {httpPrt: 8080}}}     | gatewayProxies.payments.podTemplate: Additional property httpPrt is not allowed
      gatewayProxyDefaults         | gatewayProxyDefaults: {servce: {type: ClusterIP}}              | gatewayProxyDefaults: Additional property servce is not allowed
      edge proxy                   | edge: {enabled: true, proxy: {gatewaySetting: {}}}             | edge.proxy: Additional property gatewaySetting is not allowed
      webhook                      | webhook: {failurePolicyy: Fail}                                | webhook: Additional property failurePolicyy is not allowed
      """)
  void misspelledKeyFailsNamingIt(String where, String values, String expected) {
    Helm.Run run = Helm.run(work, "template", Helm.RELEASE, Helm.chartDir().toString(), "-f",
        Helm.values(work, values + "\n").toString());
    assertNotEquals(0, run.exitCode(), () -> "helm template accepted a misspelled key (" + where + "):\n" + run.output());
    assertTrue(run.output().contains(expected), () -> "expected the message\n  " + expected + "\nbut got\n"
        + run.output());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      port as text        | gatewayProxies: {payments: {podTemplate: {httpPort: eighty}}} | gatewayProxies.payments.podTemplate.httpPort: Invalid type. Expected: integer, given: string
      unknown source      | controlPlane: {source: consul}                                | controlPlane.source: controlPlane.source must be one of the following
      replicas below zero | gatewayProxies: {payments: {kind: {deployment: {replicas: -1}}}} | gatewayProxies.payments.kind.deployment.replicas: Must be greater than or equal to 0
      """)
  void wrongTypeOrValueFailsNamingTheKey(String what, String values, String expected) {
    Helm.Run run = Helm.run(work, "template", Helm.RELEASE, Helm.chartDir().toString(), "-f",
        Helm.values(work, values + "\n").toString());
    assertNotEquals(0, run.exitCode(), () -> "helm template accepted " + what + ":\n" + run.output());
    assertTrue(run.output().contains(expected), () -> "expected the message\n  " + expected + "\nbut got\n"
        + run.output());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      remove the default proxy | gatewayProxies: {gateway-proxy: null, payments: {}}
      an empty entry           | gatewayProxies: {payments: {}}
      a daemonSet entry        | gatewayProxies: {payments: {kind: {deployment: null, daemonSet: {hostPort: true}}}}
      """)
  void validValuesPass(String what, String values) {
    Helm.Run run = Helm.run(work, "template", Helm.RELEASE, Helm.chartDir().toString(), "-f",
        Helm.values(work, values + "\n").toString());
    assertEquals(0, run.exitCode(), () -> "helm template refused " + what + ":\n" + run.output());
  }
}
