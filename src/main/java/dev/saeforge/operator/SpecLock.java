package dev.saeforge.operator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRuleBuilder;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A run's spec is fixed once the run has started, except the fields that steer it rather than
 * define what it trains ({@link #MUTABLE}). "Started" means: the operator created the run's first
 * Job, and recorded the hash of the spec it started from in {@code status.specHash}. Before that
 * the spec may be edited freely (e.g. to fix a run that was refused as invalid).
 *
 * <p>Enforced twice: by the CRD's validation rules ({@link #crdRules}), so that an API server that
 * evaluates CEL refuses the edit, and by the operator, which on a cluster that does not (or for an
 * edit that slipped in before status.specHash was written) keeps the running Job as it is, starts
 * no new attempt from the edited spec, and says so in the condition {@link #CONDITION} and an event.
 */
public final class SpecLock {
    /** The spec fields that may change while a run runs. */
    public static final List<String> MUTABLE = List.of("suspend", "cancel", "maxRestarts", "maxPreemptions", "telemetry");
    /** Condition type: True while the spec differs from the one the run started from. */
    public static final String CONDITION = "SpecChangeRefused";
    public static final String CHANGED = "SpecChanged";
    public static final String RESTORED = "SpecRestored";

    /** {@link #MUTABLE} in words, a constant for the commands' help. */
    public static final String MUTABLE_WORDS = "suspend, cancel, maxRestarts, maxPreemptions and telemetry";
    private static final ObjectMapper SORTED = Mappers.json().copy().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

    private SpecLock() {
    }

    /**
     * SHA-256 (hex) of the fixed part of the spec. Values equal to the defaults are left out, so a
     * spec written with a default spelled out hashes as one that leaves it out, and a field added
     * to the API later, with a default, does not change the hash of a run started before.
     */
    public static String hash(TrainingRunSpec spec) {
        ObjectNode fixed = Mappers.json().valueToTree(spec);
        MUTABLE.forEach(fixed::remove);
        withoutDefaults(fixed, Mappers.json().valueToTree(new TrainingRunSpec()));
        try {
            byte[] canonical = SORTED.writeValueAsString(SORTED.treeToValue(fixed, Map.class)).getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (JsonProcessingException | NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void withoutDefaults(ObjectNode node, JsonNode defaults) {
        for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            JsonNode fallback = defaults.get(field.getKey());
            if (fallback == null) {
                continue;
            }
            if (field.getValue().equals(fallback)) {
                fields.remove();
            } else if (field.getValue() instanceof ObjectNode object && fallback.isObject()) {
                withoutDefaults(object, fallback);
            }
        }
    }

    /** Whether the run has started: its first Job was created from the spec whose hash the status holds. */
    public static boolean started(TrainingRun run) {
        return run.getStatus() != null && run.getStatus().specHash != null;
    }

    /** Null when the run may go on with its spec as it is; otherwise why its spec is refused. */
    public static String refusal(TrainingRun run) {
        if (!started(run) || hash(run.getSpec()).equals(run.getStatus().specHash)) {
            return null;
        }
        return "The spec changed after the run started; once started only " + MUTABLE_WORDS + " may change. The change is "
                + "refused: the running attempt keeps the spec it started with, and no new attempt starts until the spec is "
                + "changed back. To train something else, submit a new run";
    }

    /**
     * The CRD's rules, one per fixed field of the spec, at the root of the schema (where the
     * status, and so whether the run has started, is visible): once status.specHash is set, the
     * field keeps its value, present or absent.
     *
     * @param specFields the properties of the spec in the CRD's schema
     */
    public static List<ValidationRule> crdRules(Collection<String> specFields) {
        List<ValidationRule> rules = new ArrayList<>();
        for (String field : specFields) {
            if (MUTABLE.contains(field)) {
                continue;
            }
            String rule = "!has(oldSelf.status) || !has(oldSelf.status.specHash) || (has(self.spec)"
                    + " && has(self.spec.%1$s) == has(oldSelf.spec.%1$s) && (!has(self.spec.%1$s) || self.spec.%1$s == oldSelf.spec.%1$s))"
                    .formatted(field);
            rules.add(new ValidationRuleBuilder()
                    .withRule(rule)
                    .withMessage("spec." + field + " cannot change once the run has started; only " + MUTABLE_WORDS
                            + " can. Submit a new run to train something else")
                    .withFieldPath(".spec." + field)
                    .withReason("FieldValueForbidden")
                    .build());
        }
        return rules;
    }
}
