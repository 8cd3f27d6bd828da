package io.shardgate.sharding.model;

import java.util.List;
import java.util.Map;

/**
 * One Kubernetes-style label requirement ({@code virtualServiceExpressions}, RouteTable selector
 * {@code expressions}). {@link #validate()} reports malformed requirements; {@link #matches(Map)} is only defined
 * for valid ones.
 */
public record LabelExpression(String key, String operator, List<String> values) {

  public LabelExpression {
    values = List.copyOf(values);
  }

  /** The problem with this requirement, or null when it is well formed. */
  public String validate() {
    if (key == null || key.isEmpty()) {
      return "expression has no key";
    }
    return switch (operator) {
      case "Equals", "DoubleEquals", "NotEquals", "=", "==", "!=" ->
          values.size() == 1 ? null : "operator " + operator + " needs exactly one value, got " + values.size();
      case "In", "NotIn", "in", "notin" ->
          values.isEmpty() ? "operator " + operator + " needs at least one value" : null;
      case "Exists", "DoesNotExist", "exists", "!" ->
          values.isEmpty() ? null : "operator " + operator + " takes no values";
      case "GreaterThan", "LessThan", "gt", "lt" -> {
        if (values.size() != 1) {
          yield "operator " + operator + " needs exactly one integer value";
        }
        try {
          Long.parseLong(values.get(0));
          yield null;
        } catch (NumberFormatException e) {
          yield "operator " + operator + " needs an integer value, got '" + values.get(0) + "'";
        }
      }
      default ->
          "unknown operator '" + operator
              + "' (use one of Equals, DoubleEquals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan,"
              + " LessThan)";
    };
  }

  public boolean matches(Map<String, String> labels) {
    String v = labels.get(key);
    return switch (operator) {
      case "Equals", "DoubleEquals", "=", "==", "In", "in" -> v != null && values.contains(v);
      case "NotEquals", "!=", "NotIn", "notin" -> v == null || !values.contains(v);
      case "Exists", "exists" -> v != null;
      case "DoesNotExist", "!" -> v == null;
      case "GreaterThan", "gt" -> isLong(v) && Long.parseLong(v) > Long.parseLong(values.get(0));
      case "LessThan", "lt" -> isLong(v) && Long.parseLong(v) < Long.parseLong(values.get(0));
      default -> false;
    };
  }

  private static boolean isLong(String v) {
    if (v == null) {
      return false;
    }
    try {
      Long.parseLong(v);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
