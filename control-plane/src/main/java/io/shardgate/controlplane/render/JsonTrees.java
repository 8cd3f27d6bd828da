package io.shardgate.controlplane.render;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one JSON value into the plain trees the control plane works with: insertion-ordered maps, lists, strings,
 * longs, doubles, booleans and nulls. Shared by the state store's codec and Consul's answers, each with its own
 * parser settings. Pure; thread-safe (a parser is used by one caller).
 */
public final class JsonTrees {

  private JsonTrees() {}

  /** The one value {@code p} holds; empty input and data after the value are errors. */
  public static Object readWhole(JsonParser p) throws IOException {
    JsonToken t = p.nextToken();
    if (t == null) {
      throw new IOException("empty value");
    }
    Object tree = read(p, t);
    if (p.nextToken() != null) {
      throw new IOException("trailing data after the value");
    }
    return tree;
  }

  private static Object read(JsonParser p, JsonToken t) throws IOException {
    switch (t) {
      case START_OBJECT -> {
        Map<String, Object> m = new LinkedHashMap<>();
        for (JsonToken n = p.nextToken(); n != JsonToken.END_OBJECT; n = p.nextToken()) {
          String name = p.currentName();
          m.put(name, read(p, p.nextToken()));
        }
        return m;
      }
      case START_ARRAY -> {
        List<Object> l = new ArrayList<>();
        for (JsonToken n = p.nextToken(); n != JsonToken.END_ARRAY; n = p.nextToken()) {
          l.add(read(p, n));
        }
        return l;
      }
      case VALUE_STRING -> {
        return p.getText();
      }
      case VALUE_NUMBER_INT -> {
        return p.getLongValue();
      }
      case VALUE_NUMBER_FLOAT -> {
        return p.getDoubleValue();
      }
      case VALUE_TRUE -> {
        return Boolean.TRUE;
      }
      case VALUE_FALSE -> {
        return Boolean.FALSE;
      }
      case VALUE_NULL -> {
        return null;
      }
      default -> throw new IOException("unexpected " + t);
    }
  }
}
