package io.shardgate.snapshot;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.Any;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Content-hash versions of xDS resources (snapshot cache stage).
 *
 * <p>A pure function of content, thread-safe, with one process-wide memo: the SHA-256 of each resource instance is
 * kept by identity (weak keys, so it goes with the instance). The control plane hands resources that did not change
 * to the cache again as the very same instances, so versioning a shard after an edit serializes only the resources
 * the edit changed.
 *
 * <p>A resource's version is the first 16 hex characters (64 bits) of a SHA-256 over its deterministic protobuf
 * serialization, so equal content gets an equal version in every JVM, across restarts and on every replica. That lets a
 * restarted control plane resume without pushing anything, and lets delta clients reuse their cached resources.
 * java-control-plane's own per-resource versions hash {@code Message.hashCode()}, which mixes in identity hashes and
 * so differs between JVMs; they are never used here. A list's version is a SHA-256 over the full (32-byte) digests of
 * its resources in order, so it needs no resource serialized again.
 *
 * <p>Each resource is framed as (type full name, serialized length, bytes) before hashing, so equal bytes of
 * different types do not collide; digests of fixed length keep two resources from hashing like one.
 *
 * <p>Limit: bytes already packed inside an {@code Any} (such as a filter's {@code typed_config}) are hashed as they
 * are. If a producer packs a message with map fields in varying insertion order, equal content can get two versions;
 * our translators build maps in sorted order, which keeps those bytes stable too.
 */
public final class ContentVersions {

  /** Hex characters kept from the digest: 64 bits make an accidental collision between two versions negligible. */
  static final int VERSION_HEX_CHARS = 16;

  private static final HexFormat HEX = HexFormat.of();
  /** What {@code Any.pack} puts before a type's full name. */
  private static final String TYPE_URL_PREFIX = "type.googleapis.com/";

  /**
   * Per resource instance, the SHA-256 of its frame and the resource packed for sending, from one serialization.
   * Compared by identity: protobuf messages are immutable.
   */
  private static final Cache<Message, Serialized> SERIALIZED_RESOURCES = Caffeine.newBuilder().weakKeys().build();
  /** Resources serialized for hashing since class load; what the memo saves is visible in tests. */
  private static final LongAdder SERIALIZED = new LongAdder();

  /** The version of an empty list, computed once. */
  public static final String EMPTY = of(List.of());

  private ContentVersions() {
  }

  /** The version of a list of resources, in list order (callers sort, as {@link ShardResources} does). */
  public static String of(List<? extends Message> resources) {
    MessageDigest list = sha256();
    for (Message resource : resources) {
      list.update(digest(resource));
    }
    return hex(list.digest());
  }

  /** The version of one resource. */
  public static String of(Message resource) {
    return hex(digest(resource));
  }

  /**
   * The list version and every resource's own version.
   *
   * @return {@code of(resources)} and {@code of(resources.get(i))} for each {@code i}
   */
  static Versions versions(List<? extends Message> resources) {
    MessageDigest list = sha256();
    List<String> each = new ArrayList<>(resources.size());
    for (Message resource : resources) {
      byte[] one = digest(resource);
      list.update(one);
      each.add(hex(one));
    }
    return new Versions(hex(list.digest()), List.copyOf(each));
  }

  /** How many resources were serialized for hashing so far (the memo's misses). For tests. */
  static long serializedResources() {
    return SERIALIZED.sum();
  }

  /** A list's version with the version of each of its resources, in the same order. */
  record Versions(String list, List<String> perResource) {
  }

  /** The SHA-256 of a resource's frame, computed once per instance. The array is shared: never change it. */
  private static byte[] digest(Message resource) {
    return serialized(resource).digest();
  }

  /**
   * The resource packed in an {@code Any}, from the serialization its version was hashed from: sending a changed
   * resource to its Envoys then costs no second serialization (for a route configuration of thousands of routes, the
   * larger part of an edit's publish).
   */
  static Any packed(Message resource) {
    return serialized(resource).packed();
  }

  private static Serialized serialized(Message resource) {
    return SERIALIZED_RESOURCES.get(resource, r -> {
      SERIALIZED.increment();
      byte[] bytes = bytes(r);
      String typeName = r.getDescriptorForType().getFullName();
      MessageDigest digest = sha256();
      digest.update(frameHeader(typeName, bytes.length));
      digest.update(bytes);
      Any packed = Any.newBuilder().setTypeUrl(TYPE_URL_PREFIX + typeName)
          .setValue(UnsafeByteOperations.unsafeWrap(bytes)).build();
      return new Serialized(digest.digest(), packed);
    });
  }

  /** One resource's digest and its packed form; both shared, never change them. */
  private record Serialized(byte[] digest, Any packed) {
  }

  /** What the frame holds before the bytes: the type's full name (length-prefixed) and the bytes' length. */
  private static byte[] frameHeader(String typeName, int size) {
    byte[] name = typeName.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[CodedOutputStream.computeByteArraySizeNoTag(name)
        + CodedOutputStream.computeUInt32SizeNoTag(size)];
    CodedOutputStream stream = CodedOutputStream.newInstance(out);
    try {
      stream.writeByteArrayNoTag(name);
      stream.writeUInt32NoTag(size);
      stream.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a frame header of " + typeName, e);
    }
    return out;
  }

  /** The deterministic serialization: map fields otherwise come out in insertion order. */
  private static byte[] bytes(Message resource) {
    byte[] out = new byte[resource.getSerializedSize()];
    CodedOutputStream stream = CodedOutputStream.newInstance(out);
    stream.useDeterministicSerialization();
    try {
      resource.writeTo(stream);
      stream.checkNoSpaceLeft();
    } catch (IOException e) {
      // Writing into an exactly sized array cannot fail unless the message changed size underneath us.
      throw new UncheckedIOException("cannot serialize " + resource.getDescriptorForType().getFullName(), e);
    }
    return out;
  }

  private static String hex(byte[] digest) {
    return HEX.formatHex(digest, 0, VERSION_HEX_CHARS / 2);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
  }
}
