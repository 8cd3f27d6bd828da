package io.shardgate.controlplane.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version and git commit this build was made from, read from the build-generated {@code version.properties}
 * beside this class (the Maven build filters it: project version, {@code git rev-parse HEAD}, dirty flag). A class
 * path without the filtered resource (an IDE that does not run Maven's resource filtering) gets the development
 * fallback. Immutable, thread-safe.
 *
 * @param version the project version, or null when unknown
 * @param commit the full commit id, or null when unknown (no git at build time)
 * @param dirty whether the work tree had uncommitted changes when the jar was built
 */
public record BuildVersion(String version, String commit, boolean dirty) {

  static final String RESOURCE = "version.properties";

  /** What {@code shardgate --version} and {@code shardgate version} print. */
  public String line() {
    if (version == null) {
      return "shardgate (development build)";
    }
    String c = commit == null ? "unknown"
        : commit.substring(0, Math.min(12, commit.length())) + (dirty ? "+dirty" : "");
    return "shardgate " + version + " (commit " + c + ")";
  }

  /** The version of the running build. */
  public static BuildVersion current() {
    try (InputStream in = BuildVersion.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        return new BuildVersion(null, null, false);
      }
      Properties p = new Properties();
      p.load(in);
      return of(p);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE + " from the class path", e);
    }
  }

  /** From the resource's properties; a placeholder the build did not fill (no git, no filtering) counts as unknown. */
  static BuildVersion of(Properties p) {
    return new BuildVersion(filled(p.getProperty("version")), filled(p.getProperty("commit")),
        "true".equals(p.getProperty("dirty")));
  }

  private static String filled(String value) {
    return value == null || value.isBlank() || value.contains("${") ? null : value.trim();
  }
}
