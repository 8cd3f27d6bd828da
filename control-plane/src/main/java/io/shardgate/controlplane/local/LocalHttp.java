package io.shardgate.controlplane.local;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET} on a loopback port with a Host header, one request per connection, for the launcher's readiness checks
 * and the demo's own check of the lines it prints ({@code java.net.http.HttpClient} will not set Host). Stateless.
 */
public final class LocalHttp {

  /** Status code and body (UTF-8) of an answer. */
  public record Answer(int status, String body) {
    @Override
    public String toString() {
      return status + " " + body.strip();
    }
  }

  private LocalHttp() {}

  public static Answer get(int port, String host, String path) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2_000);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int end = all.indexOf("\r\n");
      String[] status = (end < 0 ? all : all.substring(0, end)).split(" ");
      if (status.length < 2 || !status[0].startsWith("HTTP/1.")) {
        throw new IOException("not an HTTP answer from 127.0.0.1:" + port + ": '" + all.strip() + "'");
      }
      int bodyAt = all.indexOf("\r\n\r\n");
      return new Answer(Integer.parseInt(status[1]), bodyAt < 0 ? "" : all.substring(bodyAt + 4));
    }
  }
}
