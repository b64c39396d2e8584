package dev.saeforge.train;

import dev.saeforge.api.SaeDefinition;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.S3MockServer;
import dev.saeforge.store.S3Settings;
import dev.saeforge.store.SaeLensCheckpoint;
import io.minio.MinioClient;
import io.minio.UploadObjectArgs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;

/** spec.sae.fromPretrained from s3://BUCKET/PREFIX: the checkpoint's weights exactly, copied into the cache. */
class FromPretrainedS3Test {
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("saes");

    @TempDir
    Path root;
    @TempDir
    Path cache;

    @Test
    void s3CheckpointsComeFromTheirPrefix() throws Exception {
        FromPretrainedTest.train(FromPretrainedTest.FIRST, root);
        Path first = root.resolve("first/final_2560");
        MinioClient client = S3Settings.from("s3://saes", S3.env()).client();
        for (String name : List.of(SaeLensCheckpoint.CONFIG, SaeLensCheckpoint.WEIGHTS)) {
            client.uploadObject(UploadObjectArgs.builder().bucket("saes").object("runs/first/final_2560/" + name)
                    .filename(first.resolve(name).toString()).build());
        }
        ModelSources sources = new ModelSources(cache, new HfHub(URI.create("http://127.0.0.1:9"), null), S3.env());
        SaeDefinition definition = FromPretrainedTest.definition(FromPretrainedTest.second("dSae: 24, fromPretrained: s3://saes/runs/first/final_2560"));

        FromPretrainedTest.assertSameWeights(definition, sources, first);
    }

}
