package dev.saeforge;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.saeforge.api.TrainingRun;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

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
}
