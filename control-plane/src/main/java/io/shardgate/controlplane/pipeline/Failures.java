package io.shardgate.controlplane.pipeline;

/**
 * How an internal error (a bug, never bad input) is described where users see it: what was being done, the
 * exception's type and where it was thrown. Never its message, which may quote configuration values (a secret
 * pasted in the wrong place); the log line next to it has the stack trace. Pure.
 */
public final class Failures {

  private Failures() {}

  /** {@code internal error while <doing> (IllegalStateException at Foo.java:12); this is a bug ...}. */
  public static String describe(String doing, Throwable e) {
    StackTraceElement top = e.getStackTrace().length == 0 ? null : e.getStackTrace()[0];
    String where = top == null ? "" : " at " + top.getFileName() + ":" + top.getLineNumber();
    return "internal error while " + doing + " (" + e.getClass().getSimpleName() + where + "); this is a bug in"
        + " Shardgate, please report it with the control plane's log";
  }
}
