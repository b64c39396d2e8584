package dev.saeforge.cli;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.util.ForLoop;
import dev.saeforge.lm.ChatTemplate;
import io.quarkus.runtime.annotations.RegisterForReflection;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** The reflection a native image is told about covers what the libraries reach by reflection. */
class NativeImageRegistrationsTest {
    @Test
    void everyClassOfJinjavasDefaultLibrariesIsRegisteredForTheChatTemplate() {
        Context libraries = new Jinjava().getGlobalContext();
        Set<String> reflected = new TreeSet<>();
        libraries.getAllFilters().forEach(filter -> reflected.add(filter.getClass().getName()));
        libraries.getAllExpTests().forEach(test -> reflected.add(test.getClass().getName()));
        libraries.getAllTags().forEach(tag -> reflected.add(tag.getClass().getName()));
        libraries.getAllFunctions().forEach(function -> reflected.add(function.getMethod().getDeclaringClass().getName()));
        reflected.add(ForLoop.class.getName());

        RegisterForReflection registered = NativeImageRegistrations.Jinjava.class.getAnnotation(RegisterForReflection.class);
        assertThat(new TreeSet<>(Arrays.asList(registered.classNames()))).isEqualTo(reflected);
        assertThat(registered.targets()).containsExactly(ChatTemplate.class);
    }
}
