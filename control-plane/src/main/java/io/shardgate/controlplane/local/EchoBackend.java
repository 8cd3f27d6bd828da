package io.shardgate.controlplane.local;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The built-in echo backend of {@code shardgate demo} and the load-isolation experiment, run as a child process
 * ({@code java -cp ... EchoBackend PORT NAME}) so it can be pinned and stopped by pid: HTTP/1.1 on 127.0.0.1, every
 * request answered 200 with {@code <NAME> path=<path>}, connections kept alive, a thread per connection.
 *
 * <p>Built in rather than nginx from Debian so that the demo needs nothing but Java and Envoy; it is small enough not to
 * be the bottleneck of one Envoy worker (no allocation beyond the header line, no parsing beyond what HTTP/1.1
 * framing needs). Stateful (a server); each connection on its own thread.
 */
public final class EchoBackend {

  private static final int MAX_LINE = 16 * 1024;

  private EchoBackend() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: EchoBackend PORT NAME");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    String name = args[1];
    ServerSocket server = new ServerSocket();
    try {
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
    } catch (IOException e) {
      System.err.println("EchoBackend " + name + ": cannot listen on 127.0.0.1:" + port + ": " + e.getMessage());
      System.exit(1);
    }
    System.out.println("EchoBackend " + name + " listening on 127.0.0.1:" + port);
    System.out.flush();
    while (true) {
      Socket socket = server.accept();
      Thread t = new Thread(() -> serve(socket, name), "echo-" + socket.getPort());
      t.setDaemon(true);
      t.start();
    }
  }

  private static void serve(Socket socket, String name) {
    try (socket) {
      socket.setTcpNoDelay(true);
      InputStream in = new BufferedInputStream(socket.getInputStream(), 8192);
      OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 8192);
      while (true) {
        String requestLine = line(in);
        if (requestLine == null) {
          return; // the client closed the connection between requests
        }
        long contentLength = 0;
        boolean close = requestLine.endsWith("HTTP/1.0");
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
          int colon = h.indexOf(':');
          if (colon < 0) {
            continue;
          }
          String header = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
          String value = h.substring(colon + 1).trim();
          if (header.equals("content-length")) {
            contentLength = Long.parseLong(value);
          } else if (header.equals("connection")) {
            close = value.equalsIgnoreCase("close");
          }
        }
        in.skipNBytes(contentLength);
        String[] parts = requestLine.split(" ");
        String path = parts.length > 1 ? parts[1] : "/";
        byte[] body = (name + " path=" + path + "\n").getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.length
            + (close ? "\r\nConnection: close" : "") + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        if (close) {
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      // the peer went away mid-request: nothing to answer
    }
  }

  /** One line without CRLF; null at end of stream before any byte. */
  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream(128);
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        int n = line.size();
        String s = line.toString(StandardCharsets.ISO_8859_1);
        return n > 0 && s.charAt(n - 1) == '\r' ? s.substring(0, n - 1) : s;
      }
      if (line.size() >= MAX_LINE) {
        throw new IOException("header line longer than " + MAX_LINE + " bytes");
      }
      line.write(b);
    }
    if (line.size() == 0) {
      return null;
    }
    throw new IOException("connection closed mid-line");
  }
}
