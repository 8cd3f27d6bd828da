package io.shardgate.controlplane.state;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import io.shardgate.controlplane.render.JsonTrees;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * One persisted value as JSON bytes and back: the records of Shardgate's last good state (Proxy IR) and source
 * documents. Values are written exactly (nulls and empty collections kept, map order kept), in the tree shape that
 * {@link TreeReader} reads: records as objects of their components, a record nested in a sealed type wrapped in a
 * one-key object named after it, keys, references and enums as strings, durations as {@code 15s}.
 *
 * <p>Pure and thread-safe.
 */
final class StateCodec {

  /** NaN and infinities (YAML's {@code .nan}, {@code .inf}) round-trip as numbers, not as strings. */
  private static final JsonFactory JSON = JsonFactory.builder()
      .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
      .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
      .build();

  private StateCodec() {}

  static byte[] encode(Object value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      write(g, value);
    } catch (IOException e) {
      throw new UncheckedIOException("writing JSON in memory cannot fail", e);
    }
    return out.toByteArray();
  }

  static <T> T decode(byte[] bytes, Class<T> type) throws IOException {
    return TreeReader.read(tree(bytes), type);
  }

  static <T> List<T> decodeList(byte[] bytes, Class<T> element) throws IOException {
    return TreeReader.readList(tree(bytes), element);
  }

  /** The JSON as a plain tree: insertion-ordered maps, lists, strings, longs, doubles, booleans and nulls. */
  static Object tree(byte[] bytes) throws IOException {
    try (JsonParser p = JSON.createParser(bytes)) {
      return JsonTrees.readWhole(p);
    }
  }

  private static void write(JsonGenerator g, Object v) throws IOException {
    if (v == null) {
      g.writeNull();
    } else if (v instanceof String s) {
      g.writeString(s);
    } else if (v instanceof Boolean b) {
      g.writeBoolean(b);
    } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      g.writeNumber(((Number) v).longValue());
    } else if (v instanceof Double || v instanceof Float) {
      g.writeNumber(((Number) v).doubleValue());
    } else if (v instanceof ResourceKey || v instanceof ResourceRef) {
      g.writeString(v.toString());
    } else if (v instanceof Enum<?> e) {
      g.writeString(e.name());
    } else if (v instanceof Duration d) {
      g.writeString(duration(d));
    } else if (v instanceof Map<?, ?> m) {
      g.writeStartObject();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        g.writeFieldName(String.valueOf(e.getKey()));
        write(g, e.getValue());
      }
      g.writeEndObject();
    } else if (v instanceof Collection<?> c) {
      g.writeStartArray();
      for (Object o : c) {
        write(g, o);
      }
      g.writeEndArray();
    } else if (v.getClass().isRecord()) {
      Class<?> type = v.getClass();
      boolean wrapped = type.getEnclosingClass() != null && type.getEnclosingClass().isSealed();
      g.writeStartObject();
      if (wrapped) {
        String simple = type.getSimpleName();
        g.writeFieldName(Character.toLowerCase(simple.charAt(0)) + simple.substring(1));
        g.writeStartObject();
      }
      for (RecordComponent rc : type.getRecordComponents()) {
        g.writeFieldName(rc.getName());
        try {
          write(g, rc.getAccessor().invoke(v));
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException("cannot read " + rc, e);
        }
      }
      if (wrapped) {
        g.writeEndObject();
      }
      g.writeEndObject();
    } else {
      throw new IllegalArgumentException("cannot persist a " + v.getClass().getName());
    }
  }

  private static String duration(Duration d) {
    if (d.getNano() == 0) {
      return d.getSeconds() + "s";
    }
    String nanos = String.format("%09d", d.getNano()).replaceAll("0+$", "");
    return d.getSeconds() + "." + nanos + "s";
  }
}
