package dev.saeforge.api;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * How to say what a {@link io.fabric8.generator.annotation.Pattern}-constrained field expects, so
 * that a mismatch reads {@code "x" is not <what>; expected <form>} instead of quoting a regex.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
public @interface Expect {
    /** The kind of value, with its article: "a hook name". */
    String what();

    /** The expected form, as a user would write it. */
    String form();
}
