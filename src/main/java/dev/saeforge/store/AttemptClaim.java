package dev.saeforge.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.RunIdentity;

import java.io.IOException;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Which attempt of which run writes a run's checkpoints now: {@code <run>/.attempt.json}, written
 * when a trainer starts ({@link CheckpointStore#claim}) and read before every publish, so that a
 * trainer left running by a superseded attempt (a Job deleted with its pods orphaned) never makes
 * its checkpoint the latest. Writers without an attempt (a local {@code saeforge train}) neither
 * claim nor check. The check and the publish are separate requests, so two writers can still both
 * publish in that instant; what it rules out is a stale writer publishing for the hours after.
 */
final class AttemptClaim {
    /** Hidden, like staging directories: no checkpoint is ever named so. */
    static final String FILE_NAME = ".attempt.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private AttemptClaim() {
    }

    /** {@link #checkStart} or {@link #checkPublish}: a refusal of {@code writer} given the claim found at {@code where}. */
    @FunctionalInterface
    interface Check {
        void apply(Optional<RunIdentity> current, RunIdentity writer, String where);
    }

    static byte[] toJson(RunIdentity writer) throws IOException {
        ObjectNode node = JSON.createObjectNode();
        CheckpointManifest.putWriter(node, writer);
        node.put("claimed", Instant.now().toString());
        return JSON.writeValueAsBytes(node);
    }

    /** The claim in {@code json} ({@code source} names it in errors). */
    static RunIdentity parse(byte[] json, String source) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (IOException e) {
            throw new IOException(source + " is not a run's attempt claim: not JSON");
        }
        if (node == null || !node.isObject() || !node.path("attempt").canConvertToInt()) {
            throw new IOException(source + " is not a run's attempt claim: it lacks a whole-number attempt");
        }
        return CheckpointManifest.writer(node);
    }

    /**
     * Refuses {@code writer} starting when a later attempt of the same run holds the claim. A claim of
     * another uid belongs to a run of the same name that was deleted: the new run takes it over.
     */
    static void checkStart(Optional<RunIdentity> current, RunIdentity writer, String where) {
        current.filter(claim -> Objects.equals(claim.uid(), writer.uid()) && claim.attempt() > writer.attempt())
                .ifPresent(claim -> {
                    throw superseded(claim, writer, where);
                });
    }

    /** Refuses {@code writer} publishing unless it holds the claim, or an earlier attempt of its run does. */
    static void checkPublish(Optional<RunIdentity> current, RunIdentity writer, String where) {
        current.filter(claim -> !Objects.equals(claim.uid(), writer.uid()) || claim.attempt() > writer.attempt())
                .ifPresent(claim -> {
                    throw superseded(claim, writer, where);
                });
    }

    private static SupersededWriterException superseded(RunIdentity claim, RunIdentity writer, String where) {
        String holder = Objects.equals(claim.uid(), writer.uid())
                ? "attempt " + claim.attempt() + " of this run has started since"
                : "run " + describe(claim) + " (uid " + claim.uid() + ") has taken it over";
        return new SupersededWriterException("attempt " + writer.attempt() + " of run " + describe(writer) + " no longer writes "
                + where + ": " + holder + "; this trainer stops without publishing");
    }

    private static String describe(RunIdentity run) {
        return run.namespace() == null ? run.name() : run.namespace() + "/" + run.name();
    }
}
