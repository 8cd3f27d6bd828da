package io.shardgate.sharding.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * RouteTable selector expressions follow Kubernetes label requirements (k8s.io/apimachinery labels.NewRequirement
 * and Requirement.Matches), as Gloo's RouteTablesForSelector does.
 */
class LabelExpressionTest {

  private static final Map<String, String> LABELS = Map.of("team", "orders", "tier", "3");

  private static LabelExpression e(String key, String op, String... values) {
    return new LabelExpression(key, op, List.of(values));
  }

  @Test
  void wellFormedExpressionsValidate() {
    assertNull(e("team", "Equals", "orders").validate());
    assertNull(e("team", "DoubleEquals", "orders").validate());
    assertNull(e("team", "NotEquals", "orders").validate());
    assertNull(e("team", "In", "orders", "carts").validate());
    assertNull(e("team", "NotIn", "orders").validate());
    assertNull(e("team", "Exists").validate());
    assertNull(e("team", "DoesNotExist").validate());
    assertNull(e("tier", "GreaterThan", "2").validate());
    assertNull(e("tier", "LessThan", "10").validate());
  }

  @Test
  void malformedExpressionsAreReported() {
    assertNotNull(e("", "Exists").validate(), "no key");
    assertNotNull(e("team", "In").validate(), "In needs at least one value");
    assertNotNull(e("team", "NotIn").validate(), "NotIn needs at least one value");
    assertNotNull(e("team", "Equals").validate(), "Equals needs exactly one value");
    assertNotNull(e("team", "Equals", "a", "b").validate(), "Equals needs exactly one value");
    assertNotNull(e("team", "NotEquals", "a", "b").validate(), "NotEquals needs exactly one value");
    assertNotNull(e("team", "Exists", "orders").validate(), "Exists takes no values");
    assertNotNull(e("team", "DoesNotExist", "orders").validate(), "DoesNotExist takes no values");
    assertNotNull(e("tier", "GreaterThan", "high").validate(), "GreaterThan needs an integer");
    assertNotNull(e("tier", "LessThan", "1", "2").validate(), "LessThan needs exactly one value");
    assertNotNull(e("team", "Matches", "orders").validate(), "unknown operator");
  }

  @Test
  void equalityAndSetOperatorsNeedTheLabelPresent() {
    assertTrue(e("team", "Equals", "orders").matches(LABELS));
    assertTrue(e("team", "In", "carts", "orders").matches(LABELS));
    assertFalse(e("team", "In", "carts").matches(LABELS));
    assertFalse(e("missing", "In", "orders").matches(LABELS));
    assertFalse(e("missing", "Equals", "orders").matches(LABELS));
  }

  @Test
  void negatedOperatorsMatchAnAbsentLabel() {
    // Kubernetes: NotIn and != are true when the key is absent.
    assertTrue(e("missing", "NotIn", "orders").matches(LABELS));
    assertTrue(e("missing", "NotEquals", "orders").matches(LABELS));
    assertFalse(e("team", "NotIn", "orders").matches(LABELS));
    assertFalse(e("team", "NotEquals", "orders").matches(LABELS));
    assertTrue(e("team", "NotIn", "carts").matches(LABELS));
  }

  @Test
  void existenceOperators() {
    assertTrue(e("team", "Exists").matches(LABELS));
    assertFalse(e("missing", "Exists").matches(LABELS));
    assertTrue(e("missing", "DoesNotExist").matches(LABELS));
    assertFalse(e("team", "DoesNotExist").matches(LABELS));
  }

  @Test
  void numericOperatorsCompareIntegersAndNeverMatchAbsentOrNonNumericLabels() {
    assertTrue(e("tier", "GreaterThan", "2").matches(LABELS));
    assertFalse(e("tier", "GreaterThan", "3").matches(LABELS));
    assertTrue(e("tier", "LessThan", "10").matches(LABELS), "numeric, not string, comparison: 3 < 10");
    assertFalse(e("missing", "GreaterThan", "0").matches(LABELS));
    assertFalse(e("missing", "LessThan", "100").matches(LABELS));
    assertFalse(e("team", "GreaterThan", "0").matches(LABELS), "a non-numeric label value never matches");
  }
}
