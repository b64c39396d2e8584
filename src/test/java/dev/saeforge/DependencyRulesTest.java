package dev.saeforge;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.saeforge.api.TrainingRun;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

/** DESIGN.md's dependency rules ("Layout"), checked on the main classes: dependencies point inward. */
class DependencyRulesTest {
    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("dev.saeforge");
    }

    @Test
    void saeLmStoreAndDataKnowNothingOfKubernetesOrTheCli() {
        noClasses().that().resideInAnyPackage("dev.saeforge.sae..", "dev.saeforge.lm..", "dev.saeforge.store..", "dev.saeforge.data..")
                .should().dependOnClassesThat().resideInAnyPackage("io.fabric8..", "dev.saeforge.cli..", "picocli..")
                .check(main);
    }

    @Test
    void theOperatorKnowsNothingOfTensors() {
        noClasses().that().resideInAPackage("dev.saeforge.operator..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "dev.saeforge.tensor..", "dev.saeforge.sae..",
                        "dev.saeforge.lm..", "dev.saeforge.train..", "dev.saeforge.data..")
                .check(main);
    }

    @Test
    void nothingOutsideTheCliUsesTheCli() {
        noClasses().that().resideOutsideOfPackage("dev.saeforge.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.saeforge.cli..")
                .check(main);
    }

    @Test
    void trainingTakesASpecNotTheCustomResource() {
        noClasses().that().resideInAPackage("dev.saeforge.train..")
                .should().dependOnClassesThat().belongToAnyOf(TrainingRun.class)
                .check(main);
    }

    @Test
    void onlyTheSaePackageNamesAnArchitecture() {
        noClasses().that().resideOutsideOfPackage("dev.saeforge.sae..")
                .should().dependOnClassesThat().implement(dev.saeforge.sae.TrainingSae.class)
                .because("the trainer, checkpoints and benchmarks reach architectures through SaeArchitectures")
                .check(main);
    }

    /**
     * Inside sae/, an architecture's class is named only in its own file and by the registry; an
     * architecture that extends another (BatchTopK extends TopK, as in SAELens) names its parent.
     */
    @Test
    void anArchitectureIsNamedOnlyInItsOwnFileAndTheRegistry() {
        List<String> violations = new ArrayList<>();
        for (JavaClass origin : main) {
            if (!origin.getPackageName().equals("dev.saeforge.sae") || origin.getSimpleName().equals("SaeArchitectures")) {
                continue;
            }
            JavaClass file = topLevel(origin);
            for (Dependency dependency : origin.getDirectDependenciesFromSelf()) {
                JavaClass target = topLevel(dependency.getTargetClass());
                boolean architecture = target.isAssignableTo(dev.saeforge.sae.TrainingSae.class) && !target.isInterface();
                if (architecture && !file.equals(target) && !file.isAssignableTo(target.getName())) {
                    violations.add(dependency.getDescription());
                }
            }
        }
        assertThat(violations).isEmpty();
    }

    private static JavaClass topLevel(JavaClass javaClass) {
        JavaClass c = javaClass;
        while (c.getEnclosingClass().isPresent()) {
            c = c.getEnclosingClass().get();
        }
        return c;
    }
}
