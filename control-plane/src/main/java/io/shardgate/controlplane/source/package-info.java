/**
 * The directory config source: {@link io.shardgate.controlplane.source.YamlDocumentReader} parses one file (pure),
 * {@link io.shardgate.controlplane.source.DirectoryLoader} reads a whole tree in Gloo's layout or as plain
 * Kubernetes-style YAML (pure), and {@link io.shardgate.controlplane.source.DirectorySource} watches the tree and
 * delivers each new {@link io.shardgate.controlplane.source.DirectoryContents} (stateful edge).
 *
 * <p>No dependency injection here: the application wires these classes with plain constructors.
 */
package io.shardgate.controlplane.source;
