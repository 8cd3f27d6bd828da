package io.shardgate.controlplane.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.util.ArrayList;
import java.util.List;

/**
 * Writing objects to the real API server the way {@code kubectl apply --server-side} does, from YAML text, for the
 * tests and the benchmark that drive the Kubernetes mode: any kind (Gloo CRDs, Services, EndpointSlices) as a
 * {@link GenericKubernetesResource}, so a test reads like the manifests a user applies.
 *
 * <p>Stateless; thread-safe as far as the client is.
 */
public final class KubeObjects {

  private static final String FIELD_MANAGER = "shardgate-tests";

  private KubeObjects() {}

  /** Applies every document of {@code yaml} (server-side apply, conflicts forced); returns what the server stored. */
  public static List<GenericKubernetesResource> apply(KubernetesClient client, String yaml) {
    List<GenericKubernetesResource> stored = new ArrayList<>();
    for (String document : yaml.split("(?m)^---\\s*$")) {
      if (document.isBlank()) {
        continue;
      }
      GenericKubernetesResource r = client.getKubernetesSerialization().unmarshal(document,
          GenericKubernetesResource.class);
      stored.add(resource(client, r).fieldManager(FIELD_MANAGER).forceConflicts().serverSideApply());
    }
    return stored;
  }

  /** Deletes every object {@code yaml} names (its kind, namespace and name; the rest is ignored). */
  public static void delete(KubernetesClient client, String yaml) {
    for (String document : yaml.split("(?m)^---\\s*$")) {
      if (!document.isBlank()) {
        GenericKubernetesResource r = client.getKubernetesSerialization().unmarshal(document,
            GenericKubernetesResource.class);
        resource(client, r).delete();
      }
    }
  }

  /** Creates the namespaces that do not exist yet. */
  public static void namespaces(KubernetesClient client, String... names) {
    for (String name : names) {
      if (client.namespaces().withName(name).get() == null) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
            .create();
      }
    }
  }

  private static Resource<GenericKubernetesResource> resource(KubernetesClient client, GenericKubernetesResource r) {
    NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
        Resource<GenericKubernetesResource>> kind =
        client.genericKubernetesResources(r.getApiVersion(), r.getKind()).inNamespace(r.getMetadata().getNamespace());
    return kind.resource(r);
  }
}
