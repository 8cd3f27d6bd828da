package io.shardgate.snapshot;

import io.envoyproxy.controlplane.cache.Resources;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What the client of one xDS stream holds and watches of one resource type, as its requests and our responses show
 * (xDS serving stage). {@link ShardSnapshotCache} asks it whether an Envoy has answered a stage of a staged update.
 *
 * <p>Immutable value; {@link ShardDiscoveryCallbacks} replaces a stream's view of a type on each request of that type.
 * "Holds" counts what the client answered, ACK or NACK: a rejected resource is answered as much as an accepted one,
 * since the client will not ask for it again.
 */
sealed interface ClientView permits ClientView.Sotw, ClientView.Delta {

  /**
   * Whether the client holds {@code x}'s resources of {@code typeUrl} that it watches, plus {@code implied}: names it
   * is about to ask for because it accepted the clusters or listeners that use them, but may not have asked for yet.
   */
  boolean holds(ContentSnapshot x, String typeUrl, Set<String> implied);

  /** The names of {@code x}'s resources of {@code typeUrl} that the client accepted (ACKed) at {@code x}'s versions. */
  Set<String> accepted(ContentSnapshot x, String typeUrl);

  /**
   * Whether the client rejected (NACKed) {@code x}'s resources of {@code typeUrl}: state of the world, the latest
   * response it answered has {@code x}'s version and was rejected; delta, it rejected one of them at {@code x}'s
   * version and has not been sent it since.
   */
  boolean rejects(ContentSnapshot x, String typeUrl);

  /**
   * Whether java-control-plane serves a type as a wildcard: CDS and LDS send every resource (a state of the world
   * request for them names none; delta streams of them are always wildcard there).
   */
  static boolean wildcardType(String typeUrl) {
    return typeUrl.equals(Resources.V3.CLUSTER_TYPE_URL) || typeUrl.equals(Resources.V3.LISTENER_TYPE_URL);
  }

  /**
   * A state of the world stream: each response carries the whole type (for the requested names), at one version.
   *
   * @param requested the names of the client's latest request of the type (empty: all, for CDS and LDS)
   * @param answer the latest response the client answered, or null
   */
  record Sotw(Set<String> requested, Answer answer) implements ClientView {

    static final Sotw NONE = new Sotw(Set.of(), null);

    public Sotw {
      requested = Set.copyOf(requested);
    }

    @Override
    public boolean holds(ContentSnapshot x, String typeUrl, Set<String> implied) {
      String version = x.typeVersion(typeUrl);
      boolean atVersion = answer != null && answer.version().equals(version);
      if (wildcardType(typeUrl) && requested.isEmpty()) {
        return atVersion;
      }
      Set<String> need = new HashSet<>(requested);
      need.addAll(implied);
      need.retainAll(x.names(typeUrl));
      // A request for more names than the answered response had (a new cluster's endpoints) is not caught up yet,
      // even though its version is the same: the response with the new names is still to come.
      return need.isEmpty() || atVersion && answer.names().containsAll(need);
    }

    @Override
    public Set<String> accepted(ContentSnapshot x, String typeUrl) {
      if (answer == null || !answer.accepted() || !answer.version().equals(x.typeVersion(typeUrl))) {
        return Set.of();
      }
      if (wildcardType(typeUrl) && answer.names().isEmpty()) {
        return x.names(typeUrl);
      }
      Set<String> names = new HashSet<>(answer.names());
      names.retainAll(x.names(typeUrl));
      return names;
    }

    @Override
    public boolean rejects(ContentSnapshot x, String typeUrl) {
      return answer != null && !answer.accepted() && answer.version().equals(x.typeVersion(typeUrl));
    }
  }

  /**
   * One answered state of the world response.
   *
   * @param version its {@code version_info}
   * @param names the names of the request it answered (empty: all)
   * @param accepted ACK (true) or NACK (false)
   */
  record Answer(String version, Set<String> names, boolean accepted) {
    public Answer {
      names = Set.copyOf(names);
    }
  }

  /**
   * A delta stream: each response carries only what changed, with a version per resource.
   *
   * @param subscribed the names the client subscribed to (CDS and LDS are wildcard whatever it names)
   * @param held resource name to the version the client has: declared in {@code initial_resource_versions}, or sent
   *     in a response it answered; a removal it answered takes the name out
   */
  record Delta(Set<String> subscribed, Map<String, Held> held) implements ClientView {

    static final Delta NONE = new Delta(Set.of(), Map.of());

    public Delta {
      subscribed = Set.copyOf(subscribed);
      held = Map.copyOf(held);
    }

    @Override
    public boolean holds(ContentSnapshot x, String typeUrl, Set<String> implied) {
      Set<String> names = x.names(typeUrl);
      Set<String> need;
      if (wildcardType(typeUrl)) {
        need = names;
        for (String had : held.keySet()) {
          if (!names.contains(had)) {
            return false; // its removal is not answered yet
          }
        }
      } else {
        need = new HashSet<>(subscribed);
        need.addAll(implied);
        need.retainAll(names);
      }
      for (String name : need) {
        Held h = held.get(name);
        if (h == null || !h.version().equals(x.resourceVersion(typeUrl, name))) {
          return false;
        }
      }
      return true;
    }

    @Override
    public Set<String> accepted(ContentSnapshot x, String typeUrl) {
      Set<String> names = new HashSet<>();
      held.forEach((name, h) -> {
        if (h.accepted() && h.version().equals(x.resourceVersion(typeUrl, name))) {
          names.add(name);
        }
      });
      return names;
    }

    @Override
    public boolean rejects(ContentSnapshot x, String typeUrl) {
      for (Map.Entry<String, Held> e : held.entrySet()) {
        if (!e.getValue().accepted() && e.getValue().version().equals(x.resourceVersion(typeUrl, e.getKey()))) {
          return true;
        }
      }
      return false;
    }
  }

  /** A resource version a delta client has, and whether it accepted it (false: it rejected it and kept the older). */
  record Held(String version, boolean accepted) {
  }
}
