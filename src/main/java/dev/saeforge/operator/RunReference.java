package dev.saeforge.operator;

import java.util.regex.Pattern;

/** A TrainingRun named as NAMESPACE/NAME, the way the Job tells the trainer which run it trains. */
public record RunReference(String namespace, String name) {
    private static final Pattern DNS_LABEL = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");

    public static RunReference parse(String text) {
        int slash = text == null ? -1 : text.indexOf('/');
        if (slash < 0 || !DNS_LABEL.matcher(text.substring(0, slash)).matches()
                || !DNS_LABEL.matcher(text.substring(slash + 1)).matches()) {
            throw new IllegalArgumentException("\"" + text + "\" is not a run reference; expected NAMESPACE/NAME, e.g. research/qwen3-8b-layer28-mlp");
        }
        return new RunReference(text.substring(0, slash), text.substring(slash + 1));
    }

    @Override
    public String toString() {
        return namespace + "/" + name;
    }
}
