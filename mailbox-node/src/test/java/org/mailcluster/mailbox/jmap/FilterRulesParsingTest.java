package org.mailcluster.mailbox.jmap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.apache.james.jmap.api.filtering.Rule;
import org.junit.jupiter.api.Test;

/** What PUT /users/USER/filters accepts, and the field a refusal names. */
class FilterRulesParsingTest {
    private static final String GOOD = "{\"id\":\"1\",\"name\":\"invoices\","
        + "\"condition\":{\"field\":\"subject\",\"comparator\":\"contains\",\"value\":\"invoice\"},"
        + "\"mailboxIds\":[\"m1\",\"m2\"]}";

    @Test
    void aWellFormedListBecomesRulesInOrder() {
        List<Rule> rules = FilterRulesRoutes.parse("[" + GOOD + "," + GOOD.replace("\"1\"", "\"2\"") + "]");
        assertThat(rules).extracting(rule -> rule.getId().asString()).containsExactly("1", "2");
        assertThat(rules.get(0).getCondition().getField()).isEqualTo(Rule.Condition.Field.SUBJECT);
        assertThat(rules.get(0).getCondition().getComparator()).isEqualTo(Rule.Condition.Comparator.CONTAINS);
        assertThat(rules.get(0).getAction().getAppendInMailboxes().getMailboxIds()).containsExactly("m1", "m2");
    }

    @Test
    void anEmptyListClearsTheRules() {
        assertThat(FilterRulesRoutes.parse("[]")).isEmpty();
    }

    @Test
    void eachMistakeIsNamed() {
        assertRefused("not json", "not JSON");
        assertRefused("{}", "JSON array");
        assertRefused("[1]", "[0] must be an object");
        assertRefused("[" + GOOD.replace("\"id\":\"1\",", "") + "]", "[0].id");
        assertRefused("[" + GOOD.replace("\"name\":\"invoices\"", "\"name\":\"\"") + "]", "[0].name");
        assertRefused("[" + GOOD.replace("subject", "body") + "]", "[0].condition.field");
        assertRefused("[" + GOOD.replace("\"contains\"", "\"matches\"") + "]", "[0].condition.comparator");
        assertRefused("[" + GOOD.replace(",\"value\":\"invoice\"", "") + "]", "[0].condition.value");
        assertRefused("[" + GOOD.replace("[\"m1\",\"m2\"]", "[]") + "]", "[0].mailboxIds");
        assertRefused("[" + GOOD.replace("[\"m1\",\"m2\"]", "[3]") + "]", "[0].mailboxIds");
        assertRefused("[" + GOOD + "," + GOOD.replace("\"condition\":{", "\"condition\":7,\"x\":{") + "]", "[1].condition");
    }

    private static void assertRefused(String body, String naming) {
        assertThatThrownBy(() -> FilterRulesRoutes.parse(body))
            .satisfies(e -> assertThat(String.valueOf(((spark.HaltException) e).body())).contains(naming));
    }
}
