package io.shardgate.sharding.secret;

import io.shardgate.sharding.model.ResourceRef;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The TLS secrets as they are served: per Secret of a {@link SecretState}, whether its current content can serve
 * (the certificate chain and key are PEM, the key is the leaf certificate's, the leaf is valid at {@code now}, the
 * root CA if any is PEM; or, without certificate and key, a root CA alone that is PEM), what is served (the current
 * content when it can, else the last content that could, from the catalog before), and why the current content
 * cannot, in words that describe the content by kind only. The {@link TlsSecretLookup} gateway translation reads.
 *
 * <p>Stage: between the source and translation. Pure: a function of the state, the instant and the catalog before,
 * all passed in; the clock is read by the caller. A certificate's expiry (or start of validity) is therefore seen at
 * the first build whose {@code now} is past it: the pipeline builds again at {@link #nextChange()} so that the crossing
 * is not left waiting for the next config change. Immutable; thread-safe.
 *
 * <p>A Secret whose {@link KubeSecret} is the very object of the catalog before, and whose verdict cannot have changed
 * with time, keeps its entry object, so a build after an unrelated change costs a comparison per Secret, and
 * {@link #servedChangedSince} and {@link #viewsChangedSince} compare by identity. A Secret that is deleted is gone,
 * last good content and all: it is missing.
 */
public final class TlsSecretCatalog implements TlsSecretLookup {

  /** No secrets. */
  public static final TlsSecretCatalog EMPTY = new TlsSecretCatalog(Collections.emptySortedMap());

  private static final DateTimeFormatter TIME = DateTimeFormatter.ISO_INSTANT;

  /**
   * One secret's state.
   *
   * @param source the Secret as the source gave it
   * @param served what Envoy is given: the current content when valid, else the last valid content; null when none
   * @param problem why the current content cannot serve, naming the secret; null when it can
   * @param recheckAt when the verdict on the current content changes by time alone (its leaf's notAfter while valid,
   *     its notBefore while not yet valid), or null when it never does
   * @param view what gateway translation is told
   */
  public record Entry(KubeSecret source, TlsSecretContent served, String problem, Instant recheckAt,
      TlsSecretView view) {
    public Entry {
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(view, "view");
    }
  }

  private final SortedMap<String, Entry> entries;

  private TlsSecretCatalog(SortedMap<String, Entry> entries) {
    this.entries = Collections.unmodifiableSortedMap(entries);
  }

  /**
   * The catalog of {@code state} at {@code now}, with {@code previous} for last good content and reuse, reading each
   * Secret's content with {@link TlsSecretContent#of}.
   */
  public static TlsSecretCatalog build(SecretState state, Instant now, TlsSecretCatalog previous) {
    return build(state, now, previous, TlsSecretContent::of);
  }

  /**
   * The catalog of {@code state} at {@code now}.
   *
   * @param previous the catalog of the input before (EMPTY for none): last good content, and entries to reuse
   * @param reader a Secret's content in Gloo's terms; throws {@link PemException} with a message naming the part
   *     that is wrong when the Secret's layout cannot be read
   */
  public static TlsSecretCatalog build(SecretState state, Instant now, TlsSecretCatalog previous,
      Function<KubeSecret, TlsSecretContent> reader) {
    Objects.requireNonNull(now, "now");
    SortedMap<String, Entry> out = new TreeMap<>();
    for (Map.Entry<String, KubeSecret> e : state.secrets().entrySet()) {
      Entry before = previous.entries.get(e.getKey());
      KubeSecret secret = e.getValue();
      if (before != null && before.source() == secret
          && (before.recheckAt() == null || !crossed(before, now))) {
        out.put(e.getKey(), before);
        continue;
      }
      out.put(e.getKey(), evaluate(secret, now, before, reader));
    }
    return new TlsSecretCatalog(out);
  }

  /** Whether {@code now} is past the instant the entry's verdict changes at. */
  private static boolean crossed(Entry entry, Instant now) {
    // While valid, the content expires once now is after notAfter; while not yet valid, it starts at notBefore.
    return entry.problem() == null ? now.isAfter(entry.recheckAt()) : !now.isBefore(entry.recheckAt());
  }

  private record Verdict(TlsSecretContent content, String problem, Instant recheckAt) {}

  private static Entry evaluate(KubeSecret secret, Instant now, Entry before,
      Function<KubeSecret, TlsSecretContent> reader) {
    String name = "secret " + secret.key();
    Verdict v;
    try {
      v = verdict(reader.apply(secret), now);
    } catch (PemException e) {
      v = new Verdict(null, e.getMessage(), null);
    }
    if (v.problem() == null) {
      TlsSecretContent served = before != null && v.content().equals(before.served()) ? before.served() : v.content();
      return new Entry(secret, served, null, v.recheckAt(), viewOf(served, null));
    }
    TlsSecretContent lastGood = before == null ? null : before.served();
    String problem = name + ": " + v.problem()
        + (lastGood != null ? "; its last valid content keeps serving" : "");
    TlsSecretView view = lastGood == null ? TlsSecretView.unservable(problem) : viewOf(lastGood, problem);
    return new Entry(secret, lastGood, problem, v.recheckAt(), view);
  }

  /** The view of content that serves (valid, or the last good content while the current one has {@code problem}). */
  private static TlsSecretView viewOf(TlsSecretContent served, String problem) {
    return new TlsSecretView(true, served.hasCertificateChain(), served.hasRootCa(), problem);
  }

  /** Checks one content; the problem (without the secret's name) or the content with its recheck instant. */
  private static Verdict verdict(TlsSecretContent content, Instant now) {
    if (!content.hasCertificateChain() && !content.hasPrivateKey() && content.hasRootCa()) {
      // Only a root CA (Gloo accepts one as an Upstream's secretRef): it verifies a backend, presents nothing.
      PemReader.certificates(KubeSecret.CA_CERT, content.rootCa());
      return new Verdict(content, null, null);
    }
    if (!content.hasCertificateChain()) {
      return new Verdict(null, KubeSecret.TLS_CERT + " is missing or empty", null);
    }
    if (!content.hasPrivateKey()) {
      return new Verdict(null, KubeSecret.TLS_KEY + " is missing or empty", null);
    }
    List<X509Certificate> chain = PemReader.certificates(KubeSecret.TLS_CERT, content.certificateChain());
    PrivateKey key = PemReader.privateKey(KubeSecret.TLS_KEY, content.privateKey());
    X509Certificate leaf = chain.get(0);
    if (!PemReader.keyMatches(key, leaf, KubeSecret.TLS_KEY)) {
      return new Verdict(null, KubeSecret.TLS_KEY + " does not match the certificate's public key", null);
    }
    if (content.hasRootCa()) {
      PemReader.certificates(KubeSecret.CA_CERT, content.rootCa());
    }
    Instant notBefore = leaf.getNotBefore().toInstant();
    Instant notAfter = leaf.getNotAfter().toInstant();
    if (now.isAfter(notAfter)) {
      return new Verdict(null, "certificate expired " + TIME.format(notAfter), null);
    }
    if (now.isBefore(notBefore)) {
      return new Verdict(null, "certificate is not valid before " + TIME.format(notBefore), notBefore);
    }
    return new Verdict(content, null, notAfter);
  }

  @Override
  public TlsSecretView find(ResourceRef ref) {
    Entry e = entries.get(KubeSecret.key(ref.namespace(), ref.name()));
    return e == null ? TlsSecretView.missing(ref) : e.view();
  }

  /** What Envoy is given for {@code ref}, or empty when nothing can be served. */
  public Optional<TlsSecretContent> served(ResourceRef ref) {
    Entry e = entries.get(KubeSecret.key(ref.namespace(), ref.name()));
    return e == null ? Optional.empty() : Optional.ofNullable(e.served());
  }

  /** Every secret's entry by {@code namespace/name}, sorted. */
  public SortedMap<String, Entry> entries() {
    return entries;
  }

  /** The secrets whose current content cannot serve, with the reason, by {@code namespace/name}. */
  public SortedMap<String, Entry> problems() {
    SortedMap<String, Entry> out = new TreeMap<>();
    entries.forEach((k, e) -> {
      if (e.problem() != null) {
        out.put(k, e);
      }
    });
    return Collections.unmodifiableSortedMap(out);
  }

  /**
   * The earliest instant at which a secret's verdict changes by time alone (a certificate expires, or becomes
   * valid), or empty when none will: the caller builds the catalog again then.
   */
  public Optional<Instant> nextChange() {
    Instant min = null;
    for (Entry e : entries.values()) {
      if (e.recheckAt() != null && (min == null || e.recheckAt().isBefore(min))) {
        min = e.recheckAt();
      }
    }
    return Optional.ofNullable(min);
  }

  /** The secrets (keys) whose served content is another object than in {@code before}, or that came or went. */
  public SortedSet<String> servedChangedSince(TlsSecretCatalog before) {
    return changed(before, (a, b) -> a.served() == b.served());
  }

  /** The secrets (keys) whose view differs from {@code before}'s, or that came or went. */
  public SortedSet<String> viewsChangedSince(TlsSecretCatalog before) {
    return changed(before, (a, b) -> a.view().equals(b.view()));
  }

  private interface Same {
    boolean test(Entry a, Entry b);
  }

  private SortedSet<String> changed(TlsSecretCatalog before, Same same) {
    SortedSet<String> out = new TreeSet<>();
    entries.forEach((k, e) -> {
      Entry b = before.entries.get(k);
      if (b == null || (b != e && !same.test(e, b))) {
        out.add(k);
      }
    });
    before.entries.keySet().forEach(k -> {
      if (!entries.containsKey(k)) {
        out.add(k);
      }
    });
    return Collections.unmodifiableSortedSet(out);
  }

  @Override
  public String toString() {
    return "TlsSecretCatalog" + entries.keySet();
  }
}
