package io.shardgate.controlplane.e2e;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A tiny HTTP/1.1 client over a plain socket, because {@code java.net.http.HttpClient} refuses to set the Host
 * header (and the system property that allows it only works if set before that class is first loaded). One request
 * per connection ({@code Connection: close}); never follows redirects.
 */
public final class RawHttp {

  /** A response: status code, headers (lower-case names) and the body as UTF-8. */
  public record Response(int status, Map<String, String> headers, String body) {
    @Override
    public String toString() {
      return status + " " + headers + " " + body;
    }
  }

  private static final int CONNECT_TIMEOUT_MS = 1_000;
  private static final int READ_TIMEOUT_MS = 5_000;

  private RawHttp() {}

  /** {@code GET path} on 127.0.0.1:port with the given Host header. */
  public static Response get(int port, String host, String path) throws IOException {
    return request(port, "GET", host, path, Map.of());
  }

  /**
   * {@code method path} on 127.0.0.1:port with the given Host header and extra request headers (no body), for
   * routes that match on methods and headers.
   */
  public static Response request(int port, String method, String host, String path, Map<String, String> headers)
      throws IOException {
    StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: ").append(host)
        .append("\r\nConnection: close\r\nAccept: */*\r\n");
    headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
    head.append("\r\n");
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), CONNECT_TIMEOUT_MS);
      socket.setSoTimeout(READ_TIMEOUT_MS);
      OutputStream out = socket.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return readResponse(new BufferedInputStream(socket.getInputStream()), !"HEAD".equals(method));
    }
  }

  /**
   * Status line, headers and (unless {@code withBody} is false) the body of one response; also for callers that keep
   * a connection open (HTTPS keep-alive in {@link HttpsProbe}).
   */
  static Response readResponse(InputStream in, boolean withBody) throws IOException {
    String statusLine = line(in);
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP/1.x status line: '" + statusLine + "'");
    }
    int status = Integer.parseInt(parts[1]);
    Map<String, String> headers = new TreeMap<>();
    for (String h = line(in); !h.isEmpty(); h = line(in)) {
      int colon = h.indexOf(':');
      if (colon > 0) {
        headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
      }
    }
    byte[] body;
    if (!withBody) {
      body = new byte[0];
    } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      body = chunked(in);
    } else if (headers.containsKey("content-length")) {
      body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
    } else {
      body = in.readAllBytes(); // Connection: close delimits it
    }
    return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
  }

  private static byte[] chunked(InputStream in) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String sizeLine = line(in);
      int semicolon = sizeLine.indexOf(';');
      int size = Integer.parseInt((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim(), 16);
      if (size == 0) {
        return body.toByteArray(); // trailers, if any, are not needed
      }
      body.write(in.readNBytes(size));
      line(in); // the CRLF after the chunk
    }
  }

  /** One line without its CRLF; fails on a connection closed mid-line or before any byte. */
  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        int n = line.size();
        String s = line.toString(StandardCharsets.ISO_8859_1);
        return n > 0 && s.charAt(n - 1) == '\r' ? s.substring(0, n - 1) : s;
      }
      line.write(b);
    }
    throw new IOException("connection closed while reading a line (got '" + line.toString(StandardCharsets.ISO_8859_1)
        + "')");
  }
}
