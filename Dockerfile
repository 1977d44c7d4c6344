# distpipe: every process of the suite in one image; the container's command picks the process
# (docker run IMAGE worker --id worker-1 --bootstrap-servers ...). Built and started by docker-compose.yml.

# Build stage: the same Maven build bin/distpipe runs, then the jar and its runtime classpath copied to /app/lib.
FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
COPY . .
RUN ./mvnw -q -B -DskipTests -pl cli -am package \
 && mkdir -p /app/lib \
 && cp cli/target/distpipe-cli-*.jar /app/lib/ \
 && tr ':' '\n' < cli/target/classpath.txt | xargs -I{} cp {} /app/lib/

# Runtime stage: a JRE and the jars, nothing else.
FROM eclipse-temurin:17-jre
RUN groupadd --system distpipe && useradd --system --gid distpipe --home-dir /app distpipe \
 && mkdir -p /data/input /data/output /data/snapshots /app/logs /app/state /run/distpipe \
 && chown -R distpipe:distpipe /data /app /run/distpipe \
 && chmod 1777 /data/input /data/output /data/snapshots /app/logs /app/state /run/distpipe
COPY --from=build /app/lib /app/lib
COPY docker/distpipe /usr/local/bin/distpipe
RUN chmod 0755 /usr/local/bin/distpipe
# Not root; docker-compose.yml runs the coordinator as the host user (DISTPIPE_UID) so that it can write the
# bind-mounted output directory, hence the world-writable (sticky) directories above.
USER distpipe
WORKDIR /app
ENV DISTPIPE_LOG_DIR=/app/logs \
    DISTPIPE_READY_FILE=/run/distpipe/ready \
    DISTPIPE_JAVA_OPTS="-Xmx512m -Ddistpipe.console.level=INFO"
ENTRYPOINT ["distpipe"]
CMD ["--help"]
