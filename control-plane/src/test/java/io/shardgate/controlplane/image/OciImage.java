package io.shardgate.controlplane.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * Test support: the OCI image tarball the build writes (control-plane/target/shardgate-image.tar, an OCI image
 * layout: oci-layout, index.json, blobs/sha256/...), read with a small tar reader of its own (ustar with pax and GNU
 * long names) so the tests need no tar library and no container tool to look inside. Immutable after {@link #read}.
 *
 * @param blobs every blob by its digest ({@code sha256:<hex>}), as stored in the tarball
 * @param index index.json
 * @param manifest the one manifest index.json lists
 * @param config the image config the manifest names
 */
record OciImage(Map<String, byte[]> blobs, JsonNode index, JsonNode manifest, JsonNode config) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One entry of a layer: its path without a leading slash, as written in the layer. */
  record Entry(String path, char type, int mode, long uid, long gid, long mtime, String linkTarget, byte[] content) {
    boolean isDirectory() {
      return type == '5';
    }

    boolean isRegularFile() {
      return type == '0' || type == '\0';
    }

    boolean isSymlink() {
      return type == '2';
    }
  }

  static OciImage read(Path tarball) throws IOException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    try (InputStream in = Files.newInputStream(tarball)) {
      for (Entry e : entries(in)) {
        if (e.isRegularFile()) {
          files.put(e.path(), e.content());
        }
      }
    }
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    files.forEach((name, bytes) -> {
      if (name.startsWith("blobs/sha256/")) {
        blobs.put("sha256:" + name.substring("blobs/sha256/".length()), bytes);
      }
    });
    if (!files.containsKey("index.json")) {
      throw new IllegalStateException(tarball + " is not an OCI image layout: no index.json among " + files.keySet());
    }
    JsonNode index = JSON.readTree(files.get("index.json"));
    JsonNode manifest = JSON.readTree(blob(blobs, index.at("/manifests/0/digest").asText()));
    JsonNode config = JSON.readTree(blob(blobs, manifest.at("/config/digest").asText()));
    return new OciImage(blobs, index, manifest, config);
  }

  private static byte[] blob(Map<String, byte[]> blobs, String digest) {
    byte[] b = blobs.get(digest);
    if (b == null) {
      throw new IllegalStateException("blob " + digest + " is not in the tarball (it has " + blobs.keySet() + ")");
    }
    return b;
  }

  byte[] blob(String digest) {
    return blob(blobs, digest);
  }

  /** The layers' digests, bottom first. */
  List<String> layerDigests() {
    List<String> digests = new ArrayList<>();
    manifest.get("layers").forEach(l -> digests.add(l.get("digest").asText()));
    return digests;
  }

  /** The entries of one layer (a gzip'd tar), in order. */
  List<Entry> layer(String digest) throws IOException {
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(blob(digest)))) {
      return entries(in);
    }
  }

  /** The uncompressed bytes of one layer, whose sha256 is its diff_id in the config. */
  byte[] uncompressedLayer(String digest) throws IOException {
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(blob(digest)))) {
      return in.readAllBytes();
    }
  }

  static String sha256(byte[] bytes) {
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Unpacks the layers in order into {@code rootfs}, as a container runtime's image store does: later layers win,
   * {@code .wh.NAME} removes NAME of the layers below, {@code .wh..wh..opq} empties its folder of them.
   */
  void unpack(Path rootfs) throws IOException {
    Files.createDirectories(rootfs);
    for (String digest : layerDigests()) {
      for (Entry e : layer(digest)) {
        Path target = rootfs.resolve(e.path()).normalize();
        if (!target.startsWith(rootfs)) {
          throw new IllegalStateException("layer " + digest + " writes outside the root: " + e.path());
        }
        String name = target.getFileName() == null ? "" : target.getFileName().toString();
        if (name.equals(".wh..wh..opq")) {
          clear(target.getParent());
          continue;
        }
        if (name.startsWith(".wh.")) {
          delete(target.resolveSibling(name.substring(".wh.".length())));
          continue;
        }
        if (!e.isDirectory()) {
          delete(target);
        }
        Files.createDirectories(e.isDirectory() ? target : target.getParent());
        if (e.isSymlink()) {
          Files.createSymbolicLink(target, Path.of(e.linkTarget()));
        } else if (e.type() == '1') {
          Files.createLink(target, rootfs.resolve(e.linkTarget()));
        } else if (e.isRegularFile()) {
          Files.write(target, e.content());
        }
        if (!e.isSymlink() && e.type() != '1') {
          Files.setPosixFilePermissions(target, permissions(e.mode()));
        }
      }
    }
  }

  private static void clear(Path dir) throws IOException {
    if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      try (var children = Files.list(dir)) {
        for (Path child : children.toList()) {
          delete(child);
        }
      }
    }
  }

  private static void delete(Path path) throws IOException {
    if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      clear(path);
    }
    Files.deleteIfExists(path);
  }

  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE, high bit first
    for (int i = 0; i < 9; i++) {
      if ((mode & (1 << (8 - i))) != 0) {
        p.add(bits[i]);
      }
    }
    return p;
  }

  /** A tar stream's entries, with pax ({@code x}) and GNU ({@code L}, {@code K}) long names applied. */
  static List<Entry> entries(InputStream in) throws IOException {
    List<Entry> entries = new ArrayList<>();
    Map<String, String> pax = Map.of();
    String longName = null;
    String longLink = null;
    byte[] header = new byte[512];
    while (readFully(in, header)) {
      if (isZero(header)) {
        break;
      }
      String name = string(header, 0, 100);
      int mode = (int) number(header, 100, 8);
      long uid = number(header, 108, 8);
      long gid = number(header, 116, 8);
      long size = number(header, 124, 12);
      long mtime = number(header, 136, 12);
      char type = (char) header[156];
      String link = string(header, 157, 100);
      String prefix = string(header, 345, 155);
      byte[] content = new byte[(int) size];
      if (!readFully(in, content) && size > 0) {
        throw new IOException("tar entry " + name + " is truncated");
      }
      long padding = (512 - size % 512) % 512;
      in.readNBytes((int) padding);
      switch (type) {
        case 'x' -> {
          pax = parsePax(content);
          continue;
        }
        case 'g' -> {
          continue;
        }
        case 'L' -> {
          longName = new String(content, StandardCharsets.UTF_8).replace("\0", "");
          continue;
        }
        case 'K' -> {
          longLink = new String(content, StandardCharsets.UTF_8).replace("\0", "");
          continue;
        }
        default -> { }
      }
      String path = prefix.isEmpty() ? name : prefix + "/" + name;
      path = pax.getOrDefault("path", longName != null ? longName : path);
      link = pax.getOrDefault("linkpath", longLink != null ? longLink : link);
      if (pax.containsKey("uid")) {
        uid = Long.parseLong(pax.get("uid"));
      }
      if (pax.containsKey("gid")) {
        gid = Long.parseLong(pax.get("gid"));
      }
      if (pax.containsKey("mtime")) {
        mtime = (long) Double.parseDouble(pax.get("mtime"));
      }
      while (path.startsWith("./") || path.startsWith("/")) {
        path = path.substring(path.startsWith("./") ? 2 : 1);
      }
      entries.add(new Entry(path, type, mode, uid, gid, mtime, link, content));
      pax = Map.of();
      longName = null;
      longLink = null;
    }
    return entries;
  }

  private static Map<String, String> parsePax(byte[] content) {
    Map<String, String> records = new LinkedHashMap<>();
    int pos = 0;
    while (pos < content.length) {
      int space = pos;
      while (content[space] != ' ') {
        space++;
      }
      int length = Integer.parseInt(new String(content, pos, space - pos, StandardCharsets.UTF_8));
      String record = new String(content, space + 1, length - (space - pos) - 2, StandardCharsets.UTF_8);
      int eq = record.indexOf('=');
      records.put(record.substring(0, eq), record.substring(eq + 1));
      pos += length;
    }
    return records;
  }

  private static boolean readFully(InputStream in, byte[] buffer) throws IOException {
    int n = in.readNBytes(buffer, 0, buffer.length);
    return n == buffer.length;
  }

  private static boolean isZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private static String string(byte[] header, int offset, int length) {
    int end = offset;
    while (end < offset + length && header[end] != 0) {
      end++;
    }
    return new String(header, offset, end - offset, StandardCharsets.UTF_8);
  }

  /** An octal field, or GNU's base-256 form (high bit set) for big values. */
  private static long number(byte[] header, int offset, int length) {
    if ((header[offset] & 0x80) != 0) {
      long value = header[offset] & 0x7f;
      for (int i = 1; i < length; i++) {
        value = (value << 8) | (header[offset + i] & 0xff);
      }
      return value;
    }
    String s = string(header, offset, length).trim();
    return s.isEmpty() ? 0 : Long.parseLong(s, 8);
  }
}
