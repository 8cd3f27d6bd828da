package io.shardgate.snapshot;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Content-hash versions of xDS resources (snapshot cache stage).
 *
 * <p>Pure and stateless; safe to use from any thread.
 *
 * <p>A version is the first 16 hex characters (64 bits) of a SHA-256 over each resource's deterministic protobuf
 * serialization, so equal content gets an equal version in every JVM, across restarts and on every replica. That lets a
 * restarted control plane resume without pushing anything, and lets delta clients reuse their cached resources.
 * java-control-plane's own per-resource versions hash {@code Message.hashCode()}, which mixes in identity hashes and
 * so differs between JVMs; they are never used here.
 *
 * <p>Each resource is framed as (type full name, serialized length, bytes): without the framing, two resources could
 * hash like one resource whose bytes are their concatenation, and equal bytes of different types would collide.
 *
 * <p>Limit: bytes already packed inside an {@code Any} (such as a filter's {@code typed_config}) are hashed as they
 * are. If a producer packs a message with map fields in varying insertion order, equal content can get two versions;
 * our translators build maps in sorted order, which keeps those bytes stable too.
 */
public final class ContentVersions {

  /** Hex characters kept from the digest: 64 bits make an accidental collision between two versions negligible. */
  static final int VERSION_HEX_CHARS = 16;

  private static final HexFormat HEX = HexFormat.of();

  /** The version of an empty list, computed once. */
  public static final String EMPTY = of(List.of());

  private ContentVersions() {
  }

  /** The version of a list of resources, in list order (callers sort, as {@link ShardResources} does). */
  public static String of(List<? extends Message> resources) {
    MessageDigest digest = sha256();
    for (Message resource : resources) {
      digest.update(frame(resource));
    }
    return hex(digest);
  }

  /** The version of one resource; equal to {@code of(List.of(resource))}. */
  public static String of(Message resource) {
    MessageDigest digest = sha256();
    digest.update(frame(resource));
    return hex(digest);
  }

  /**
   * The list version and every resource's own version, serializing each resource once.
   *
   * @return {@code of(resources)} and {@code of(resources.get(i))} for each {@code i}
   */
  static Versions versions(List<? extends Message> resources) {
    MessageDigest list = sha256();
    List<String> each = new ArrayList<>(resources.size());
    for (Message resource : resources) {
      byte[] framed = frame(resource);
      list.update(framed);
      MessageDigest one = sha256();
      one.update(framed);
      each.add(hex(one));
    }
    return new Versions(hex(list), List.copyOf(each));
  }

  /** A list's version with the version of each of its resources, in the same order. */
  record Versions(String list, List<String> perResource) {
  }

  private static byte[] frame(Message resource) {
    byte[] typeName = resource.getDescriptorForType().getFullName().getBytes(StandardCharsets.UTF_8);
    int size = resource.getSerializedSize();
    byte[] out = new byte[CodedOutputStream.computeByteArraySizeNoTag(typeName)
        + CodedOutputStream.computeUInt32SizeNoTag(size) + size];
    CodedOutputStream stream = CodedOutputStream.newInstance(out);
    // Map fields otherwise serialize in insertion order, so two equal maps built in different orders would differ.
    stream.useDeterministicSerialization();
    try {
      stream.writeByteArrayNoTag(typeName);
      stream.writeUInt32NoTag(size);
      resource.writeTo(stream);
      stream.checkNoSpaceLeft();
    } catch (IOException e) {
      // Writing into an exactly sized array cannot fail unless the message changed size underneath us.
      throw new UncheckedIOException("cannot serialize " + resource.getDescriptorForType().getFullName(), e);
    }
    return out;
  }

  private static String hex(MessageDigest digest) {
    return HEX.formatHex(digest.digest(), 0, VERSION_HEX_CHARS / 2);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
  }
}
