package io.distpipe.topics.registry;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.common.ClientProperties;
import io.distpipe.common.Errors;

/**
 * A client of the Confluent Schema Registry REST API (Confluent's registry, Apicurio's {@code /apis/ccompat/v7},
 * Karapace, or our {@link SchemaRegistryServer}); only the JDK HTTP client and Jackson.
 */
public final class ConfluentRestSchemaRegistry implements SchemaRegistry {

    static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final String baseUrl;
    private final HttpClient http;
    /** The "Authorization" header of every request, or null without credentials. */
    private final String authorization;

    /**
     * A client of the registry at {@code baseUrl}; an https one trusts what the JVM trusts, or the trust store (and
     * presents the key store) that the process's {@link ClientProperties} name ({@link RegistryTls}).
     */
    public ConfluentRestSchemaRegistry(String baseUrl) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(TIMEOUT);
        RegistryTls.sslContext(ClientProperties.registry()).ifPresent(builder::sslContext);
        this.http = builder.build();
        this.authorization = basicAuthorization(ClientProperties.registryUserInfo());
    }

    /** The HTTP basic "Authorization" header value for {@code userInfo} ("user:password"), or null for null. */
    static String basicAuthorization(String userInfo) {
        return userInfo == null ? null
            : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
    }

    public String baseUrl() {
        return baseUrl;
    }

    @Override
    public int register(String subject, String schema) {
        return call("POST", "/subjects/" + encode(subject) + "/versions", Map.of("schema", schema))
            .path("id").asInt();
    }

    @Override
    public String schemaById(int id) {
        return call("GET", "/schemas/ids/" + id, null).path("schema").asText();
    }

    @Override
    public Optional<RegisteredSchema> lookup(String subject, String schema) {
        try {
            return Optional.of(toRegistered(call("POST", "/subjects/" + encode(subject), Map.of("schema", schema))));
        } catch (SchemaRegistryException e) {
            if (e.errorCode() == SchemaRegistryException.SCHEMA_NOT_FOUND
                || e.errorCode() == SchemaRegistryException.SUBJECT_NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public RegisteredSchema version(String subject, int version) {
        String v = version == -1 ? "latest" : Integer.toString(version);
        return toRegistered(call("GET", "/subjects/" + encode(subject) + "/versions/" + v, null));
    }

    @Override
    public boolean isCompatible(String subject, String schema) {
        try {
            return call("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest",
                Map.of("schema", schema)).path("is_compatible").asBoolean();
        } catch (SchemaRegistryException e) {
            if (e.errorCode() == SchemaRegistryException.SUBJECT_NOT_FOUND
                || e.errorCode() == SchemaRegistryException.VERSION_NOT_FOUND) {
                return true;
            }
            throw e;
        }
    }

    @Override
    public List<String> subjects() {
        List<String> result = new ArrayList<>();
        call("GET", "/subjects", null).forEach(n -> result.add(n.asText()));
        return result;
    }

    @Override
    public List<Integer> versions(String subject) {
        List<Integer> result = new ArrayList<>();
        call("GET", "/subjects/" + encode(subject) + "/versions", null).forEach(n -> result.add(n.asInt()));
        return result;
    }

    @Override
    public String compatibilityLevel() {
        return call("GET", "/config", null).path("compatibilityLevel").asText();
    }

    @Override
    public void setCompatibilityLevel(String level) {
        call("PUT", "/config", Map.of("compatibility", level));
    }

    private RegisteredSchema toRegistered(JsonNode node) {
        return new RegisteredSchema(node.path("subject").asText(), node.path("version").asInt(),
            node.path("id").asInt(), node.path("schema").asText());
    }

    private JsonNode call(String method, String path, Object body) {
        URI uri = URI.create(baseUrl + path);
        HttpRequest.BodyPublisher publisher;
        try {
            publisher = body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body));
        } catch (IOException e) {
            throw new SchemaRegistryException(SchemaRegistryException.INTERNAL, "Cannot encode request: " + e, e);
        }
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri).timeout(TIMEOUT)
            .header("Content-Type", CONTENT_TYPE)
            .header("Accept", CONTENT_TYPE + ", application/json")
            .method(method, publisher);
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        HttpRequest request = builder.build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new SchemaRegistryException(SchemaRegistryException.UNREACHABLE,
                "Schema registry at " + baseUrl + " is unreachable: " + Errors.reason(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException(SchemaRegistryException.UNREACHABLE,
                "Interrupted while calling the schema registry at " + baseUrl, e);
        }
        if (response.statusCode() == 401 || response.statusCode() == 403) {
            throw new SchemaRegistryException(SchemaRegistryException.UNAUTHORIZED, "Schema registry at " + baseUrl
                + " refused the request (HTTP " + response.statusCode() + " Unauthorized): give its user with "
                + "basic.auth.user.info in --command-config");
        }
        JsonNode json;
        try {
            json = response.body().isEmpty() ? JSON.nullNode() : JSON.readTree(response.body());
        } catch (IOException e) {
            throw new SchemaRegistryException(SchemaRegistryException.INTERNAL, "Schema registry at " + baseUrl
                + " answered " + method + " " + path + " with HTTP " + response.statusCode() + " and no JSON", e);
        }
        if (response.statusCode() >= 400) {
            int code = json.path("error_code").asInt(response.statusCode() * 100);
            throw new SchemaRegistryException(code, json.path("message").asText("HTTP " + response.statusCode()
                + " from " + method + " " + uri));
        }
        return json;
    }

    private static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
