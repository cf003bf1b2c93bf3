package org.mailcluster.mx.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

class RelayScheduleTest {
    static final Instant START = Instant.parse("2026-12-01T00:00:00Z");

    @Test
    void aRelayLadderIsWalkedOnceThenGivesUp() {
        RelayDelivery.Schedule ladder = new RelayDelivery.Schedule(
            RelayDeliveryModule.delays(RelayDeliveryModule.RELAY_DELAYS), Duration.ZERO);
        assertThat(ladder.next(1, START, START)).contains(Duration.ofMinutes(5));
        assertThat(ladder.next(6, START, START.plus(Duration.ofHours(6)))).contains(Duration.ofHours(6));
        assertThat(ladder.next(7, START, START.plus(Duration.ofHours(13)))).isEmpty();
    }

    @Test
    void aBackupMxRepeatsItsLastDelayForFiveDays() {
        RelayDelivery.Schedule backup = new RelayDelivery.Schedule(
            RelayDeliveryModule.delays(RelayDeliveryModule.BACKUP_DELAYS), RelayDeliveryModule.BACKUP_KEEPS_TRYING);
        assertThat(backup.next(1, START, START)).contains(Duration.ofSeconds(10));
        assertThat(backup.next(3, START, START.plusSeconds(40))).contains(Duration.ofMinutes(1));
        assertThat(backup.next(500, START, START.plus(Duration.ofDays(4)))).contains(Duration.ofMinutes(1));
        assertThat(backup.next(5000, START, START.plus(Duration.ofDays(5)))).isEmpty();
    }

    @Test
    void delaysAreParsedAsTheOperatorWritesThem() {
        assertThat(RelayDeliveryModule.delays("20 seconds, 1 minute,5 minutes"))
            .isEqualTo(List.of(Duration.ofSeconds(20), Duration.ofMinutes(1), Duration.ofMinutes(5)));
        assertThatThrownBy(() -> RelayDeliveryModule.delays(" , ")).hasMessageContaining("at least one delay");
    }
}
