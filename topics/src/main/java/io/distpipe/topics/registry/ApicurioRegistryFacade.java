package io.distpipe.topics.registry;

import java.util.List;
import java.util.Set;

import io.apicurio.registry.resolver.client.RegistryArtifactReference;
import io.apicurio.registry.resolver.client.RegistryClientFacade;
import io.apicurio.registry.resolver.client.RegistryVersionCoordinates;
import io.apicurio.registry.resolver.strategy.ArtifactReference;

/**
 * Lets Apicurio's Avro serdes talk to any {@link SchemaRegistry}: an artifact id is a Confluent subject and a
 * content id is a Confluent schema id, which is what Apicurio's 4-byte id framing writes after the magic byte.
 */
public final class ApicurioRegistryFacade implements RegistryClientFacade {

    private final SchemaRegistry registry;

    public ApicurioRegistryFacade(SchemaRegistry registry) {
        this.registry = registry;
    }

    @Override
    public String getSchemaByContentId(Long contentId) {
        return registry.schemaById(Math.toIntExact(contentId));
    }

    @Override
    public String getSchemaByGlobalId(long globalId, boolean dereferenced) {
        return registry.schemaById(Math.toIntExact(globalId));
    }

    @Override
    public String getSchemaByGAV(String groupId, String artifactId, String version) {
        return registry.version(artifactId, versionNumber(version)).schema();
    }

    @Override
    public String getSchemaByContentHash(String contentHash) {
        throw new UnsupportedOperationException("The Confluent registry API has no content-hash lookup");
    }

    @Override
    public List<RegistryArtifactReference> getReferencesByContentId(long contentId) {
        return List.of();
    }

    @Override
    public List<RegistryArtifactReference> getReferencesByGlobalId(long globalId) {
        return List.of();
    }

    @Override
    public List<RegistryArtifactReference> getReferencesByGAV(String groupId, String artifactId, String version) {
        return List.of();
    }

    @Override
    public List<RegistryArtifactReference> getReferencesByContentHash(String contentHash) {
        return List.of();
    }

    @Override
    public List<RegistryVersionCoordinates> searchVersionsByContent(String content, String artifactType,
                                                                    ArtifactReference reference, boolean canonical) {
        return registry.lookup(reference.getArtifactId(), content)
            .map(s -> List.of(coordinates(reference.getGroupId(), s)))
            .orElse(List.of());
    }

    @Override
    public RegistryVersionCoordinates createSchema(String artifactType, String groupId, String artifactId,
                                                   String version, String autoCreateBehavior, boolean canonical,
                                                   String content, Set<RegistryArtifactReference> references) {
        if (!references.isEmpty()) {
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_SCHEMA,
                "Schema references are not supported; schemas must be self-contained");
        }
        registry.register(artifactId, content);
        return coordinates(groupId, registry.lookup(artifactId, content).orElseThrow());
    }

    @Override
    public RegistryVersionCoordinates getVersionCoordinatesByGAV(String groupId, String artifactId, String version) {
        return coordinates(groupId, registry.version(artifactId, versionNumber(version)));
    }

    @Override
    public Object getClient() {
        return registry;
    }

    private static RegistryVersionCoordinates coordinates(String groupId, RegisteredSchema schema) {
        long id = schema.id();
        return RegistryVersionCoordinates.create(id, id, groupId, schema.subject(), Integer.toString(schema.version()));
    }

    private static int versionNumber(String version) {
        return version == null || version.equals("latest") ? -1 : Integer.parseInt(version);
    }
}
