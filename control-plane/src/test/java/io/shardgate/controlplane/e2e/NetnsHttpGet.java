package io.shardgate.controlplane.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;

/**
 * A client {@link NetnsTestHost#runJava} runs inside its network namespace, so that a server on this host sees a
 * request from a peer that is not on loopback (the namespace's own address): {@code GET}s each URL given and prints
 * one line per URL, {@code <url> <status> <body>}, the body on one line ({@code \n} as {@code |}).
 *
 * <p>Only JDK classes, so that its class file's folder alone is its classpath. Stateless.
 */
public final class NetnsHttpGet {

  private NetnsHttpGet() {}

  /** {@code NetnsHttpGet <url>...}. */
  public static void main(String[] args) throws IOException {
    for (String url : args) {
      HttpURLConnection connection = (HttpURLConnection) new URL(url).openConnection();
      connection.setConnectTimeout(30_000);
      connection.setReadTimeout(30_000);
      int status = connection.getResponseCode();
      InputStream body = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
      String text = body == null ? "" : new String(body.readAllBytes(), StandardCharsets.UTF_8);
      System.out.println(url + " " + status + " " + text.strip().replace("\n", "|"));
      connection.disconnect();
    }
  }
}
