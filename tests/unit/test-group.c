/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Application group files (tvam/app/group.h): parsing, validation with
 * named errors, canonical round trip, configuration digest, network names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tvam/app/group.h"
#include "tvam/shared/hex.h"

static const char shop[] = "{ \"name\": \"shop\", \"networks\": [ \"backend\" ],\n"
                           "  \"applications\": [ { \"name\": \"db\", \"network\": \"backend\" },\n"
                           "                      { \"name\": \"web\", \"network\": \"backend\" },\n"
                           "                      { \"name\": \"batch\" } ] }\n";

static void test_parse(void **state)
{
        struct group g;

        (void)state;
        assert_int_equal(group_parse(shop, strlen(shop), &g, NULL, 0), 0);
        assert_string_equal(g.name, "shop");
        assert_int_equal(g.n_networks, 1);
        assert_int_equal(g.n_apps, 3);
        assert_string_equal(g.apps[0].name, "db"); /* the start order is the file's order */
        assert_string_equal(g.apps[1].name, "web");
        assert_int_equal(g.apps[1].network, 0);
        assert_int_equal(g.apps[2].network, -1);
}

static void expect_error(const char *json, const char *needle)
{
        struct group g;
        char err[256] = "";

        assert_true(group_parse(json, strlen(json), &g, err, sizeof(err)) < 0);
        if (!strstr(err, needle))
                fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_errors_name_the_problem(void **state)
{
        (void)state;
        expect_error("{\"name\":\"g\",\"applications\":[{\"name\":\"a\",\"network\":\"n\"}]}", "network 'n'");
        expect_error("{\"name\":\"g\",\"applications\":[{\"name\":\"a\"},{\"name\":\"a\"}]}", "'a' is listed twice");
        expect_error("{\"name\":\"g\",\"applications\":[]}", "\"applications\"");
        expect_error("{\"name\":\"G!\",\"applications\":[{\"name\":\"a\"}]}", "\"name\"");
        expect_error("{\"name\":\"g\",\"networks\":[\"n\",\"n\"],\"applications\":[{\"name\":\"a\"}]}",
                "'n' is listed twice");
        expect_error("{\"name\":\"g\"", "not valid JSON");
        expect_error("[1]", "JSON object");
        expect_error("{\"name\":\"g\",\"applications\":[{\"name\":\"a\"}]} trailing", "not valid JSON");
}

static void test_round_trip_and_digest(void **state)
{
        struct group g, again;
        uint8_t d1[GROUP_CONFIG_DIGEST_SIZE], d2[GROUP_CONFIG_DIGEST_SIZE];
        char *json = NULL, *hex = NULL;

        (void)state;
        assert_int_equal(group_parse(shop, strlen(shop), &g, NULL, 0), 0);
        assert_int_equal(group_format(&g, &json), 0);
        assert_int_equal(group_parse(json, strlen(json), &again, NULL, 0), 0);
        assert_int_equal(group_config_digest(&g, d1), 0);
        assert_int_equal(group_config_digest(&again, d2), 0);
        assert_memory_equal(d1, d2, sizeof(d1));
        /* printf 'tvam-group-config-v1\ngroup=shop\nnetwork=backend\napp=db network=backend\n
         *         app=web network=backend\napp=batch network=-\n' | sha256sum */
        assert_int_equal(hex_encode(d1, sizeof(d1), &hex), 0);
        assert_string_equal(hex, "2b471f5cddd80554b1d58cb1ccd9302010b05d31c22291b783dc082fd15c6311");
        /* The order is part of the configuration. */
        struct group swapped = g;
        swapped.apps[0] = g.apps[1];
        swapped.apps[1] = g.apps[0];
        assert_int_equal(group_config_digest(&swapped, d2), 0);
        assert_memory_not_equal(d1, d2, sizeof(d1));
        free(json);
        free(hex);
}

static void test_network_names(void **state)
{
        struct group g;
        char net[64], bridge[16];

        (void)state;
        assert_int_equal(group_parse(shop, strlen(shop), &g, NULL, 0), 0);
        assert_int_equal(group_network_names(&g, 0, net, sizeof(net), bridge, sizeof(bridge)), 0);
        assert_string_equal(net, "tvam-shop-backend");
        assert_int_equal(strlen(bridge), 12);
        assert_memory_equal(bridge, "tvam", 4);
        assert_int_equal(group_network_names(&g, 1, net, sizeof(net), bridge, sizeof(bridge)), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_errors_name_the_problem),
                cmocka_unit_test(test_round_trip_and_digest),
                cmocka_unit_test(test_network_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
