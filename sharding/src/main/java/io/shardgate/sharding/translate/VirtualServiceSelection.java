package io.shardgate.sharding.translate;

import io.shardgate.sharding.model.Gateway;
import io.shardgate.sharding.model.LabelExpression;
import io.shardgate.sharding.model.VirtualService;
import java.util.List;

/**
 * Which VirtualServices an HTTP Gateway selects, with Gloo's precedence: the ssl flag first, then expressions,
 * then the label selector, then explicit references, then namespaces alone. Pure.
 */
final class VirtualServiceSelection {

  private VirtualServiceSelection() {}

  static boolean selects(Gateway gateway, VirtualService vs) {
    return gateway.ssl() == vs.hasSslConfig() && selectsIgnoringSsl(gateway, vs);
  }

  /** Whether the Gateway's selection matches {@code vs}, leaving out the ssl flag. */
  static boolean selectsIgnoringSsl(Gateway gateway, VirtualService vs) {
    Gateway.HttpGateway h = gateway.httpGateway();
    if (h.virtualServiceExpressions() != null) {
      return h.virtualServiceExpressions().stream().allMatch(e -> e.matches(vs.meta().labels()))
          && namespaceAllowed(h.virtualServiceNamespaces(), vs);
    }
    if (h.virtualServiceSelector() != null) {
      return h.virtualServiceSelector().entrySet().stream()
              .allMatch(e -> e.getValue().equals(vs.meta().labels().get(e.getKey())))
          && namespaceAllowed(h.virtualServiceNamespaces(), vs);
    }
    if (!h.virtualServices().isEmpty()) {
      // Explicit references ignore virtualServiceNamespaces, as in Gloo.
      return h.virtualServices().contains(vs.meta().ref());
    }
    return namespaceAllowed(h.virtualServiceNamespaces(), vs);
  }

  /** The first malformed expression's problem, or null. */
  static String expressionProblem(Gateway gateway) {
    List<LabelExpression> expressions = gateway.httpGateway().virtualServiceExpressions();
    if (expressions == null) {
      return null;
    }
    for (int i = 0; i < expressions.size(); i++) {
      String p = expressions.get(i).validate();
      if (p != null) {
        return "spec.httpGateway.virtualServiceExpressions.expressions[" + i + "]: " + p;
      }
    }
    return null;
  }

  private static boolean namespaceAllowed(List<String> namespaces, VirtualService vs) {
    return namespaces.isEmpty() || namespaces.contains("*") || namespaces.contains(vs.meta().namespace());
  }
}
