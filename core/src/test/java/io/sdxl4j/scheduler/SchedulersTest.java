// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sdxl4j.SchedulerType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SchedulersTest {

    @ParameterizedTest
    @EnumSource(SchedulerType.class)
    void createsTheDiffusersClassOfItsName(SchedulerType t) {
        try (Scheduler s = Schedulers.create(t, SchedulerConfig.sdxlDefault())) {
            assertEquals(t.className(), s.name());
        }
    }
}
