package io.distpipe.topics.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small HTTP server speaking the Confluent Schema Registry REST API over a {@link SchemaRegistry}, so that several
 * JVMs of a local run or a test share one registry without an external service.
 */
public final class SchemaRegistryServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SUBJECT_VERSION = Pattern.compile("^/subjects/([^/]+)/versions/([^/]+)$");
    private static final Pattern SUBJECT_VERSIONS = Pattern.compile("^/subjects/([^/]+)/versions$");
    private static final Pattern SUBJECT = Pattern.compile("^/subjects/([^/]+)$");
    private static final Pattern SCHEMA_ID = Pattern.compile("^/schemas/ids/(\\d+)(/schema)?$");
    private static final Pattern COMPATIBILITY = Pattern.compile("^/compatibility/subjects/([^/]+)/versions/latest$");

    private final SchemaRegistry registry;
    private final HttpServer server;
    private final ExecutorService executor;
    /** The "Authorization" header every request must carry, or null when none is asked for. */
    private final String authorization;

    private SchemaRegistryServer(SchemaRegistry registry, HttpServer server, ExecutorService executor,
                                 String authorization) {
        this.registry = registry;
        this.server = server;
        this.executor = executor;
        this.authorization = authorization;
    }

    /** Serves {@code registry} on 127.0.0.1:{@code port} (0 picks a free port). */
    public static SchemaRegistryServer start(SchemaRegistry registry, int port) throws IOException {
        return start(registry, port, null, null);
    }

    /**
     * Serves {@code registry} on 127.0.0.1:{@code port}, over HTTPS with {@code tls} (null: plain HTTP), asking every
     * request for HTTP basic authentication as {@code userInfo} ("user:password"; null: none).
     */
    public static SchemaRegistryServer start(SchemaRegistry registry, int port, SSLContext tls, String userInfo)
        throws IOException {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
        HttpServer server;
        if (tls == null) {
            server = HttpServer.create(address, 64);
        } else {
            HttpsServer https = HttpsServer.create(address, 64);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            server = https;
        }
        ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "schema-registry-http");
            t.setDaemon(true);
            return t;
        });
        SchemaRegistryServer result = new SchemaRegistryServer(registry, server, executor,
            ConfluentRestSchemaRegistry.basicAuthorization(userInfo));
        server.createContext("/", result::handle);
        server.setExecutor(executor);
        server.start();
        LOG.info("Schema registry listening on {}.", result.url());
        return result;
    }

    public String url() {
        return (server instanceof HttpsServer ? "https" : "http") + "://127.0.0.1:" + server.getAddress().getPort();
    }

    public SchemaRegistry registry() {
        return registry;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (authorization != null
                && !authorization.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                byte[] body = JSON.writeValueAsBytes(Map.of("error_code", SchemaRegistryException.UNAUTHORIZED, "message",
                    "Unauthorized: this registry asks for HTTP basic authentication"));
                exchange.getResponseHeaders().set("Content-Type", ConfluentRestSchemaRegistry.CONTENT_TYPE);
                exchange.sendResponseHeaders(401, body.length);
                exchange.getResponseBody().write(body);
                return;
            }
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getRawPath();
            if (path.length() > 1 && path.endsWith("/")) {
                path = path.substring(0, path.length() - 1);
            }
            try {
                Object answer = route(method, path, readBody(exchange));
                if (answer == null) {
                    reply(exchange, 404, error(404, "HTTP 404 Not Found: " + method + " " + path));
                } else {
                    reply(exchange, 200, answer);
                }
            } catch (SchemaRegistryException e) {
                reply(exchange, e.httpStatus(), error(e.errorCode(), e.getMessage()));
            } catch (RuntimeException e) {
                LOG.warn("Schema registry failed on {} {}: {}", method, path, e.toString());
                reply(exchange, 500, error(SchemaRegistryException.INTERNAL, e.toString()));
            }
        }
    }

    private Object route(String method, String path, JsonNode body) {
        Matcher m;
        if (path.equals("/subjects") && method.equals("GET")) {
            return registry.subjects();
        }
        if (path.equals("/config")) {
            if (method.equals("PUT")) {
                registry.setCompatibilityLevel(body.path("compatibility").asText());
                return Map.of("compatibility", registry.compatibilityLevel());
            }
            return Map.of("compatibilityLevel", registry.compatibilityLevel());
        }
        if ((m = SCHEMA_ID.matcher(path)).matches()) {
            String schema = registry.schemaById(Integer.parseInt(m.group(1)));
            return m.group(2) == null ? Map.of("schema", schema) : rawSchema(schema);
        }
        if ((m = SUBJECT_VERSIONS.matcher(path)).matches()) {
            String subject = decode(m.group(1));
            if (method.equals("POST")) {
                return Map.of("id", registry.register(subject, schemaOf(body)));
            }
            return registry.versions(subject);
        }
        if ((m = SUBJECT_VERSION.matcher(path)).matches()) {
            String v = m.group(2);
            return describe(registry.version(decode(m.group(1)), v.equals("latest") ? -1 : Integer.parseInt(v)));
        }
        if ((m = SUBJECT.matcher(path)).matches() && method.equals("POST")) {
            String subject = decode(m.group(1));
            registry.version(subject, -1);
            return describe(registry.lookup(subject, schemaOf(body)).orElseThrow(() -> new SchemaRegistryException(
                SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema not found")));
        }
        if ((m = COMPATIBILITY.matcher(path)).matches() && method.equals("POST")) {
            String subject = decode(m.group(1));
            registry.version(subject, -1);
            return Map.of("is_compatible", registry.isCompatible(subject, schemaOf(body)));
        }
        return null;
    }

    private static Object rawSchema(String schema) {
        try {
            return JSON.readTree(schema);
        } catch (IOException e) {
            throw new SchemaRegistryException(SchemaRegistryException.INTERNAL, "Stored schema is not JSON", e);
        }
    }

    private static Map<String, Object> describe(RegisteredSchema s) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("subject", s.subject());
        result.put("version", s.version());
        result.put("id", s.id());
        result.put("schema", s.schema());
        return result;
    }

    private static String schemaOf(JsonNode body) {
        JsonNode schema = body.path("schema");
        if (!schema.isTextual()) {
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_SCHEMA, "Request has no \"schema\"");
        }
        String type = body.path("schemaType").asText("AVRO");
        if (!type.equals("AVRO")) {
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_SCHEMA,
                "Only AVRO schemas are supported, not " + type);
        }
        return schema.asText();
    }

    private static Map<String, Object> error(int code, String message) {
        return Map.of("error_code", code, "message", message);
    }

    private static JsonNode readBody(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            byte[] bytes = in.readAllBytes();
            return bytes.length == 0 ? JSON.missingNode() : JSON.readTree(bytes);
        } catch (IOException e) {
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_SCHEMA, "Request body is not JSON");
        }
    }

    private static void reply(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", ConfluentRestSchemaRegistry.CONTENT_TYPE);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static String decode(String segment) {
        return URLDecoder.decode(segment, StandardCharsets.UTF_8);
    }
}
