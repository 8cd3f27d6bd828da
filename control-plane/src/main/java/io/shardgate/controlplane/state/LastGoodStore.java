package io.shardgate.controlplane.state;

import io.shardgate.controlplane.render.Trees;
import io.shardgate.sharding.translate.LastGood;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Persists the last good state ({@link LastGood}) in the state directory, so that after a restart a resource that
 * is still rejected serves exactly what it served before. Stateful edge (file I/O); thread-safe.
 *
 * <p>The file is YAML, written to a temporary file and moved into place, so a crash never leaves half a state.
 * A file that cannot be read is set aside (renamed with a {@code .unreadable} suffix) and the control plane starts
 * from the current input alone, saying so in the log.
 */
public final class LastGoodStore {

  private static final Logger LOG = LoggerFactory.getLogger(LastGoodStore.class);
  static final String FILE_NAME = "last-good.yaml";
  private static final int FORMAT = 2;

  private final Path file;
  private String lastWritten;

  public LastGoodStore(Path stateDir) {
    this.file = stateDir.resolve(FILE_NAME);
  }

  public Path file() {
    return file;
  }

  /** The persisted state, or {@link LastGood#EMPTY} when there is none or it cannot be read. */
  public synchronized LastGood load() {
    if (!Files.exists(file)) {
      return LastGood.EMPTY;
    }
    try {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      LastGood state = decode(text);
      lastWritten = text;
      LOG.info("Loaded last good state from {}: {}", file, state.summary());
      return state;
    } catch (IOException | RuntimeException e) {
      Path aside = file.resolveSibling(FILE_NAME + ".unreadable");
      LOG.error("Cannot read the last good state {} ({}); it is moved to {} and rejected resources start with"
          + " nothing to fall back on", file, e.getMessage(), aside);
      try {
        Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException moveFailed) {
        LOG.error("Cannot move {} aside: {}", file, moveFailed.getMessage());
      }
      return LastGood.EMPTY;
    }
  }

  /** Writes {@code state} when it differs from what is on disk. */
  public synchronized void save(LastGood state) {
    String text = encode(state);
    if (text.equals(lastWritten)) {
      return;
    }
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      lastWritten = text;
    } catch (IOException e) {
      // Serving goes on; only restart safety is lost until the next successful write.
      LOG.error("Cannot write the last good state to {}: {}", file, e.getMessage());
    }
  }

  static String encode(LastGood state) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("format", FORMAT);
    doc.put("state", Trees.tree(state));
    return "# Shardgate last good state: what each resource served while accepted. Written by the control plane;\n"
        + "# do not edit. Deleting it makes rejected resources stop serving after the next restart.\n"
        + Trees.yaml(doc);
  }

  static LastGood decode(String text) {
    Object loaded = new Yaml(new LoaderOptions()).load(text);
    if (!(loaded instanceof Map<?, ?> doc) || !Integer.valueOf(FORMAT).equals(doc.get("format"))) {
      throw new IllegalArgumentException("not a format " + FORMAT + " state file");
    }
    return TreeReader.read(doc.get("state"), LastGood.class);
  }
}
