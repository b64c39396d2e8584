package dev.saeforge.store;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A key or file name from a bucket or repository becomes a cache path only when it stays inside the cache directory. */
class CachePathsTest {
    static final Path DIR = Path.of("cache/datasets/s3/corpora");

    @Test
    void aRelativeNameIsAPathInsideTheDirectory() {
        assertThat(CachePaths.inside(DIR, "web/part-0.jsonl", "s3://corpora: key")).isEqualTo(DIR.resolve("web/part-0.jsonl"));
        assertThat(CachePaths.inside(DIR, "a..b/c.jsonl", "s3://corpora: key")).isEqualTo(DIR.resolve("a..b/c.jsonl"));
    }

    @Test
    void aNameThatCouldLeaveTheDirectoryIsRefusedNamingItAndItsSource() {
        assertThatThrownBy(() -> CachePaths.inside(DIR, "data/../../../.docker/config.json", "s3://corpora: key"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("s3://corpora: key \"data/../../../.docker/config.json\" is refused: it has a \"..\" segment; a name from "
                        + "a bucket or repository must stay inside the cache directory " + DIR);
        assertThatThrownBy(() -> CachePaths.inside(DIR, "/home/user/.bashrc", "s3://corpora: key"))
                .hasMessageContaining("\"/home/user/.bashrc\" is refused: it is an absolute path");
        assertThatThrownBy(() -> CachePaths.inside(DIR, "data\\..\\..\\x", "s3://corpora: key"))
                .hasMessageContaining("is refused: it holds a backslash");
        assertThatThrownBy(() -> CachePaths.inside(DIR, "data/x\0.jsonl", "s3://corpora: key"))
                .hasMessageContaining("\"data/x\\u0000.jsonl\" is refused: it holds a NUL character");
        assertThatThrownBy(() -> CachePaths.inside(DIR, "./x", "s3://corpora: key")).hasMessageContaining("it has a \".\" segment");
        assertThatThrownBy(() -> CachePaths.inside(DIR, "", "s3://corpora: key")).hasMessageContaining("it is empty");
    }

    @Test
    void aCommitMustBeAHash() {
        String commit = "0123456789abcdef0123456789abcdef01234567";
        assertThat(CachePaths.commit(commit, "hf://org/model")).isEqualTo(commit);
        assertThatThrownBy(() -> CachePaths.commit("../../x", "hf://org/model"))
                .hasMessage("the hub answered commit \"../../x\" for hf://org/model; expected 40 hexadecimal digits");
        assertThatThrownBy(() -> CachePaths.commit(commit.toUpperCase(), "hf://org/model")).isInstanceOf(IllegalArgumentException.class);
    }
}
