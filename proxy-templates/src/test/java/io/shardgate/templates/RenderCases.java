package io.shardgate.templates;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The golden render cases in {@code src/test/resources/render}: {@code <case>.params.yaml}, a YAML map of
 * {@link BootstrapParams} components (absent ones take their defaults), and {@code <case>.bootstrap.yaml}, the
 * bootstrap expected from it.
 */
final class RenderCases {

  static final String PARAMS = ".params.yaml";
  static final String BOOTSTRAP = ".bootstrap.yaml";

  private RenderCases() {}

  static Path dir() {
    return Golden.sourceDir("render");
  }

  static List<Path> paramsFiles() {
    return Golden.list(dir(), PARAMS);
  }

  static List<Path> bootstrapFiles() {
    return Golden.list(dir(), BOOTSTRAP);
  }

  static String caseName(Path file) {
    String name = file.getFileName().toString();
    return name.substring(0, name.indexOf('.'));
  }

  static Path bootstrapFileOf(Path paramsFile) {
    return paramsFile.resolveSibling(caseName(paramsFile) + BOOTSTRAP);
  }

  static Path paramsFileOf(Path bootstrapFile) {
    return bootstrapFile.resolveSibling(caseName(bootstrapFile) + PARAMS);
  }

  static BootstrapParams load(Path paramsFile) {
    Object doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(Golden.read(paramsFile));
    if (!(doc instanceof Map<?, ?> map)) {
      throw new IllegalArgumentException(paramsFile + ": expected a YAML map of bootstrap parameters");
    }
    Object proxyName = map.get("proxyName");
    if (proxyName == null) {
      throw new IllegalArgumentException(paramsFile + ": proxyName is required");
    }
    BootstrapParams.Builder b = BootstrapParams.builder(proxyName.toString());
    String certFile = null;
    String keyFile = null;
    String dnsAddress = null;
    int dnsPort = 0;
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String value = String.valueOf(e.getValue());
      switch (String.valueOf(e.getKey())) {
        case "proxyName" -> { }
        case "namespace" -> b.namespace(value);
        case "nodeId" -> b.nodeId(value);
        case "nodeCluster" -> b.nodeCluster(value);
        case "xdsHost" -> b.xdsHost(value);
        case "xdsPort" -> b.xdsPort(Integer.parseInt(value));
        case "adminAddress" -> b.adminAddress(value);
        case "adminPort" -> b.adminPort(Integer.parseInt(value));
        case "statsPort" -> b.statsPort(Integer.parseInt(value));
        case "statsAddress" -> b.statsAddress(value);
        case "xdsMode" -> b.xdsMode(XdsMode.valueOf(value));
        case "xdsCaFile" -> b.xdsCaFile(value);
        case "xdsCertFile" -> certFile = value;
        case "xdsKeyFile" -> keyFile = value;
        case "xdsDnsResolverAddress" -> dnsAddress = value;
        case "xdsDnsResolverPort" -> dnsPort = Integer.parseInt(value);
        default -> throw new IllegalArgumentException(paramsFile + ": unknown parameter " + e.getKey());
      }
    }
    return b.xdsClientCertificate(certFile, keyFile).xdsDnsResolver(dnsAddress, dnsPort).build();
  }
}
