package dev.saeforge.cache;

import dev.saeforge.store.S3MockServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A cache location's files behave the same in a directory and in S3; deleting a cache deletes its files and nothing else. */
class CacheFilesTest {
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("cache-files");

    @TempDir
    Path dir;

    @Test
    void aDirectory() throws IOException {
        behavesAsACacheLocation(CacheFiles.open(dir.resolve("cache").toString(), Map.of()));
        assertThat(CacheFiles.open("file://" + dir.resolve("cache"), Map.of()).list("")).containsOnlyKeys("notes.txt");
    }

    @Test
    void anS3Prefix() throws IOException {
        behavesAsACacheLocation(CacheFiles.open("s3://" + S3.bucket() + "/team/cache", S3.env()));
    }

    void behavesAsACacheLocation(CacheFiles files) throws IOException {
        files.put("notes.txt", bytes("not the cache's"));
        files.put(CacheLayout.INFO, bytes("{}"));
        files.put("index-00000-of-00002/shard-000000.json", bytes("{\"rows\": 1}"));
        Path shard = Files.writeString(dir.resolve("shard"), "rows");
        files.putFile("index-00000-of-00002/shard-000000.safetensors", shard);
        files.put("held_out/manifest.json", bytes("{}"));
        files.put(CacheLayout.MANIFEST, bytes("{}"));

        assertThat(files.get("index-00000-of-00002/shard-000000.json")).hasValueSatisfying(b -> assertThat(b).isEqualTo(bytes("{\"rows\": 1}")));
        assertThat(files.get("index-00001-of-00002/manifest.json")).isEmpty();
        assertThat(files.exists(CacheLayout.INFO)).isTrue();
        assertThat(files.exists("held_out/shard-000000.json")).isFalse();
        assertThat(files.list("index-00000-of-00002")).containsExactly(
                Map.entry("index-00000-of-00002/shard-000000.json", 11L), Map.entry("index-00000-of-00002/shard-000000.safetensors", 4L));
        Path fetched = files.fetch("index-00000-of-00002/shard-000000.safetensors", dir.resolve("scratch")).orElseThrow();
        assertThat(Files.readString(fetched)).isEqualTo("rows");
        assertThat(files.fetch("held_out/shard-000009.safetensors", dir.resolve("scratch"))).isEmpty();

        assertThat(files.deleteCache()).isEqualTo(5);
        assertThat(files.list("")).containsOnlyKeys("notes.txt");
    }

    @Test
    void onlyTheLayoutsFilesAreTheCaches() {
        assertThat(CacheFiles.isCacheFile("cache.json")).isTrue();
        assertThat(CacheFiles.isCacheFile("index-00003-of-00004/shard-000012.safetensors")).isTrue();
        assertThat(CacheFiles.isCacheFile("held_out/manifest.json")).isTrue();
        assertThat(CacheFiles.isCacheFile("index-3-of-4/shard-000012.safetensors")).isFalse();
        assertThat(CacheFiles.isCacheFile("runs/tiny/manifest.json")).isFalse();
        assertThat(CacheFiles.isCacheFile("notes.txt")).isFalse();
    }

    @Test
    void anUnsupportedLocationIsRefused() {
        assertThatThrownBy(() -> CacheFiles.open("gs://bucket/cache", Map.of()))
                .hasMessage("cache location \"gs://bucket/cache\" is not supported; expected s3://BUCKET/PREFIX, file://PATH or a local path");
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
