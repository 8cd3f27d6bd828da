package io.shardgate.sharding.model;

import java.util.regex.Pattern;

/**
 * Kubernetes' rules for object names, namespaces, label keys and label values (k8s.io/apimachinery validation), so
 * Shardgate accepts exactly what a Kubernetes API server would store. Each check returns the problem in words, or
 * null when the value is valid; a problem never quotes the value (callers decide whether it may be shown). Pure.
 */
public final class KubernetesNames {

  private static final Pattern DNS1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern DNS1123_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern LABEL_NAME = Pattern.compile("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");

  public static final int MAX_SUBDOMAIN = 253;
  public static final int MAX_LABEL = 63;

  private KubernetesNames() {}

  /** An object name ({@code metadata.name}): a DNS-1123 subdomain. */
  public static String objectNameProblem(String name) {
    return subdomainProblem(name);
  }

  /** A namespace: a DNS-1123 label. */
  public static String namespaceProblem(String namespace) {
    if (namespace.isEmpty()) {
      return "must not be empty";
    }
    if (namespace.length() > MAX_LABEL) {
      return "must be at most " + MAX_LABEL + " characters, got " + namespace.length();
    }
    if (!DNS1123_LABEL.matcher(namespace).matches()) {
      return "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or"
          + " digit";
    }
    return null;
  }

  /** A DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
  public static String subdomainProblem(String name) {
    if (name.isEmpty()) {
      return "must not be empty";
    }
    if (name.length() > MAX_SUBDOMAIN) {
      return "must be at most " + MAX_SUBDOMAIN + " characters, got " + name.length();
    }
    if (!DNS1123_SUBDOMAIN.matcher(name).matches()) {
      return "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', each dot-separated part"
          + " starting and ending with a letter or digit";
    }
    return null;
  }

  /** A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
  public static String labelKeyProblem(String key) {
    if (key.isEmpty()) {
      return "a label key must not be empty";
    }
    String name = key;
    int slash = key.indexOf('/');
    if (slash >= 0) {
      String prefix = key.substring(0, slash);
      name = key.substring(slash + 1);
      String p = subdomainProblem(prefix);
      if (p != null) {
        return "the prefix of a label key (before '/') " + p;
      }
      if (name.contains("/")) {
        return "a label key has at most one '/'";
      }
    }
    if (name.isEmpty()) {
      return "a label key needs a name after its prefix";
    }
    if (name.length() > MAX_LABEL) {
      return "the name of a label key must be at most " + MAX_LABEL + " characters, got " + name.length();
    }
    if (!LABEL_NAME.matcher(name).matches()) {
      return "the name of a label key must be letters, digits, '-', '_' and '.', starting and ending with a letter"
          + " or digit";
    }
    return null;
  }

  /** A label value: empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric. */
  public static String labelValueProblem(String value) {
    if (value.isEmpty()) {
      return null;
    }
    if (value.length() > MAX_LABEL) {
      return "a label value must be at most " + MAX_LABEL + " characters, got " + value.length();
    }
    if (!LABEL_NAME.matcher(value).matches()) {
      return "a label value must be empty or letters, digits, '-', '_' and '.', starting and ending with a letter"
          + " or digit";
    }
    return null;
  }
}
