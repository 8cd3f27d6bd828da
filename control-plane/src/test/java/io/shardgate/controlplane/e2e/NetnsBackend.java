package io.shardgate.controlplane.e2e;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The backend {@link NetnsTestHost} runs inside its network namespace, as its own process: an HTTP server on exactly
 * one address and port that answers every request 200 with its name in the body and in an {@code x-backend} header,
 * and prints one line per request ({@code REQUEST <method> <path> from <peer>}) to stdout, which the host reads to
 * tell which backend served what, and from where.
 *
 * <p>Only JDK classes, so that its class file's folder alone is its classpath. Stateless apart from the server.
 */
public final class NetnsBackend {

  static final String READY_LINE = "READY";
  static final String REQUEST_LINE = "REQUEST ";
  static final String HEADER = "x-backend";

  private NetnsBackend() {}

  /** {@code NetnsBackend <address> <port> <name>}. */
  public static void main(String[] args) throws IOException {
    if (args.length != 3) {
      System.err.println("usage: NetnsBackend <address> <port> <name>");
      System.exit(2);
    }
    InetAddress address = InetAddress.getByName(args[0]);
    int port = Integer.parseInt(args[1]);
    String name = args[2];
    HttpServer server = HttpServer.create(new InetSocketAddress(address, port), 0);
    server.createContext("/", exchange -> {
      try (exchange) {
        String path = exchange.getRequestURI().getPath();
        synchronized (System.out) {
          System.out.println(REQUEST_LINE + exchange.getRequestMethod() + " " + path + " from "
              + exchange.getRemoteAddress().getAddress().getHostAddress());
          System.out.flush();
        }
        byte[] body = (name + " path=" + path + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.getResponseHeaders().set(HEADER, name);
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream os = exchange.getResponseBody()) {
          os.write(body);
        }
      }
    });
    server.start();
    System.out.println(READY_LINE + " " + name + " on " + address.getHostAddress() + ":" + port);
    System.out.flush();
  }
}
