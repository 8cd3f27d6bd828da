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

  /** Gloo's operator names: proto-JSON takes only these (or their numbers), never {@code =}, {@code in}, {@code !}. */
  public static final List<String> OPERATORS =
      List.of(
          "Equals", "DoubleEquals", "NotEquals", "In", "NotIn", "Exists", "DoesNotExist", "GreaterThan", "LessThan");

  /**
   * The problem with this requirement, or null when it is well formed: Kubernetes' rules for a label requirement
   * (the key a label key, each value a label value, the number of values the operator takes), as Gloo builds one.
   * Values are named by position, never quoted.
   */
  public String validate() {
    if (key == null || key.isEmpty()) {
      return "expression has no key";
    }
    String keyProblem = KubernetesNames.labelKeyProblem(key);
    if (keyProblem != null) {
      return "expression key: " + keyProblem;
    }
    for (int i = 0; i < values.size(); i++) {
      String valueProblem = KubernetesNames.labelValueProblem(values.get(i));
      if (valueProblem != null) {
        return "expression values[" + i + "]: " + valueProblem;
      }
    }
    return switch (operator) {
      case "Equals", "DoubleEquals", "NotEquals" ->
          values.size() == 1 ? null : "operator " + operator + " needs exactly one value, got " + values.size();
      case "In", "NotIn" -> values.isEmpty() ? "operator " + operator + " needs at least one value" : null;
      case "Exists", "DoesNotExist" -> values.isEmpty() ? null : "operator " + operator + " takes no values";
      case "GreaterThan", "LessThan" -> {
        if (values.size() != 1) {
          yield "operator " + operator + " needs exactly one integer value";
        }
        yield isLong(values.get(0)) ? null : "operator " + operator + " needs an integer value";
      }
      default -> "unknown operator (use one of " + String.join(", ", OPERATORS) + ")";
    };
  }

  public boolean matches(Map<String, String> labels) {
    String v = labels.get(key);
    return switch (operator) {
      case "Equals", "DoubleEquals", "In" -> v != null && values.contains(v);
      case "NotEquals", "NotIn" -> v == null || !values.contains(v);
      case "Exists" -> v != null;
      case "DoesNotExist" -> v == null;
      case "GreaterThan" -> isLong(v) && Long.parseLong(v) > Long.parseLong(values.get(0));
      case "LessThan" -> isLong(v) && Long.parseLong(v) < Long.parseLong(values.get(0));
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
