package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.xds.EnvoyNameCollisionException;

/**
 * How an internal error (a bug, never bad input) is described where users see it: what was being done, the
 * exception's type and where it was thrown. Never its message, which may quote configuration values (a secret
 * pasted in the wrong place), except for exceptions whose messages name resources only; the log line next to it has
 * the stack trace. Pure.
 */
public final class Failures {

  private Failures() {}

  /** {@code internal error while <doing> (IllegalStateException at Foo.java:12); this is a bug ...}. */
  public static String describe(String doing, Throwable e) {
    if (e instanceof EnvoyNameCollisionException) {
      // Its message names resources only; which two collide is what an operator needs to route around the bug.
      return "internal error while " + doing + ": " + e.getMessage() + "; this is a bug in Shardgate (names that"
          + " Kubernetes accepts never collide), please report it with the control plane's log";
    }
    StackTraceElement top = e.getStackTrace().length == 0 ? null : e.getStackTrace()[0];
    String where = top == null ? "" : " at " + top.getFileName() + ":" + top.getLineNumber();
    return "internal error while " + doing + " (" + e.getClass().getSimpleName() + where + "); this is a bug in"
        + " Shardgate, please report it with the control plane's log";
  }
}
