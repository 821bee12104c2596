/*
 * test_pushdown.c - what projection push-down asks of the connectors: the Nexmark generator
 * asked for some columns gives those columns the values of the whole event (and the same event
 * stream), and the CSV decoder with a projection converts only the asked columns.
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/nexmark_gen.h"
#include "data/data.h"
#include "rill.h"
#include "test.h"

static bool same_str(rill__nexmark_str a, rill__nexmark_str b)
{
    return a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len));
}

TEST(pushdown_nexmark_some_columns_equal_whole_events)
{
    rill__nexmark_cfg c;
    rill__nexmark_cfg_default(&c);
    rill__nexmark_gen g;
    rill__nexmark_gen_init(&g, &c, 3, INT64_C(1700000000000));
    char *full = rill__xmalloc(g.buf_size), *part = rill__xmalloc(g.buf_size);
    /* every subset of the six bits, including none (only kinds and times) */
    int n_kind[3] = {0};
    for (unsigned want = 0; want <= RILL_NEXMARK_WANT_ALL; want++) {
        if (want & ~RILL_NEXMARK_WANT_ALL)
            continue;
        for (int s = 0; s < 3; s++)
            for (int64_t k = 0; k < 400; k++) {
                rill__nexmark_event a, b;
                rill__nexmark_event_at(&g, s, k, full, &a);
                memset(&b, 0, sizeof b);
                rill__nexmark_event_some(&g, s, k, part, &b, want);
                CHECK_EQ(a.kind, b.kind);
                CHECK_EQ(a.event_id, b.event_id);
                CHECK_EQ(a.date_time, b.date_time);
                n_kind[a.kind] += want == RILL_NEXMARK_WANT_ALL;
                if (!(want & (1u << a.kind)))
                    continue;
                bool extra = (want & (1u << (a.kind + 4))) != 0;
                if (a.kind == RILL_NEXMARK_PERSON) {
                    CHECK_EQ(a.person.id, b.person.id);
                    CHECK(same_str(a.person.name, b.person.name));
                    CHECK(same_str(a.person.email_address, b.person.email_address));
                    CHECK(same_str(a.person.credit_card, b.person.credit_card));
                    CHECK(same_str(a.person.city, b.person.city));
                    CHECK(same_str(a.person.state, b.person.state));
                    CHECK(!extra || same_str(a.person.extra, b.person.extra));
                } else if (a.kind == RILL_NEXMARK_AUCTION) {
                    CHECK_EQ(a.auction.id, b.auction.id);
                    CHECK(same_str(a.auction.item_name, b.auction.item_name));
                    CHECK(same_str(a.auction.description, b.auction.description));
                    CHECK_EQ(a.auction.initial_bid, b.auction.initial_bid);
                    CHECK_EQ(a.auction.reserve, b.auction.reserve);
                    CHECK_EQ(a.auction.expires, b.auction.expires);
                    CHECK_EQ(a.auction.seller, b.auction.seller);
                    CHECK_EQ(a.auction.category, b.auction.category);
                    CHECK(!extra || same_str(a.auction.extra, b.auction.extra));
                } else {
                    CHECK_EQ(a.bid.auction, b.bid.auction);
                    CHECK_EQ(a.bid.bidder, b.bid.bidder);
                    CHECK_EQ(a.bid.price, b.bid.price);
                    CHECK(same_str(a.bid.channel, b.bid.channel));
                    CHECK(same_str(a.bid.url, b.bid.url));
                    CHECK(!extra || same_str(a.bid.extra, b.bid.extra));
                }
            }
    }
    CHECK(n_kind[0] > 0 && n_kind[1] > 0 && n_kind[2] > 0); /* every kind was compared */
    free(full);
    free(part);
    rill__nexmark_gen_fini(&g);
}

TEST(pushdown_csv_decoder_projection)
{
    rill_schema *s = rill_schema_new();
    CHECK_RC(rill_schema_add(s, "b", RILL_T_STRING, false));
    CHECK_RC(rill_schema_add(s, "d", RILL_T_INT64, false));
    rill__decoder d;
    rill__decoder_init(&d, s, RILL_FMT_CSV, ',');
    const int leaves[] = {1, 3};
    rill__decoder_columns(&d, 4, leaves);
    rill_batch *b = rill__batch_new(s, 16);
    rill__parse_err pe;
    /* columns 0 and 2 are not converted: text there is no error */
    const char *line = "not-a-number,x,2.5e,42";
    CHECK_RC(rill__decode_line(&d, line, strlen(line), b, &pe));
    CHECK_EQ(b->n_rows, 1);
    rill_row r = rill__batch_row(b, 0);
    CHECK_EQ(rill_row_i64(&r, 1), 42);
    size_t n;
    const char *str = rill_row_str(&r, 0, &n);
    CHECK(n == 1 && str[0] == 'x');
    /* the column count is still checked */
    line = "1,x,2";
    CHECK(rill__decode_line(&d, line, strlen(line), b, &pe) == RILL_EPARSE);
    CHECK(strstr(pe.what, "too few columns") != NULL);
    /* an asked column that does not convert is an error naming it */
    line = "1,x,2,4x";
    CHECK(rill__decode_line(&d, line, strlen(line), b, &pe) == RILL_EPARSE);
    CHECK_EQ(pe.field, 1);
    rill__batch_unref(b);
    rill__decoder_close(&d);
    rill_schema_free(s);
}
