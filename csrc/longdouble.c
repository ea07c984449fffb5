/*
 * Number parsing and arithmetic that must match Redis bit for bit, done by
 * the same C library routines Redis uses.
 *
 * INCRBYFLOAT must answer exactly what Redis answers, and Redis does that
 * arithmetic in the C `long double` type (80-bit extended precision on x86-64)
 * and prints it with "%.17Lf". Rust has no such type, so this one operation is
 * done in C, by the platform's own strtold/printf. Sorted-set scores and
 * blocking timeouts are parsed with strtod/strtold for the same reason.
 */
#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHARS (5 * 1024)

/* Parse like Redis's string2ld: no leading space, no trailing garbage (an
 * embedded NUL counts as garbage: the whole text must be consumed), not NaN,
 * no overflow/underflow to a range error. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_CHARS + 1];
    char *end;
    long double v;
    if (len == 0 || len >= MAX_CHARS) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    errno = 0;
    v = strtold(buf, &end);
    if (*end != '\0' || (size_t)(end - buf) != len || isnan(v)) return 0;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) return 0;
    *out = v;
    return 1;
}

/* "%.17Lf" with the trailing zeros (and a bare '.') removed, "-0" as "0":
 * Redis's ld2string in LD_STR_HUMAN mode. */
static long human(long double r, char *out, size_t cap) {
    int n = snprintf(out, cap, "%.17Lf", r);
    if (n < 0 || (size_t)n >= cap) return -3;
    if (strchr(out, '.') != NULL) {
        while (n > 0 && out[n - 1] == '0') n--;
        if (n > 0 && out[n - 1] == '.') n--;
    }
    if (n == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        n = 1;
    }
    return n;
}

/* cur + inc, formatted into out (capacity cap). Returns the length written,
 * -1 if either operand is not a valid float, -2 if the result is NaN or
 * infinite, -3 if the text does not fit. */
long ember_ld_add(const char *cur, size_t cur_len, const char *inc, size_t inc_len,
                  char *out, size_t cap) {
    long double a, b, r;
    if (!parse_ld(cur, cur_len, &a) || !parse_ld(inc, inc_len, &b)) return -1;
    r = a + b;
    if (isnan(r) || isinf(r)) return -2;
    return human(r, out, cap);
}

/* A double printed as Redis's addReplyHumanLongDouble prints it (GEOPOS,
 * WITHCOORD): "%.17Lf" without trailing zeros. Returns the length, or -3. */
long ember_ld_human(double v, char *out, size_t cap) {
    if (isinf(v)) {
        const char *t = v > 0 ? "inf" : "-inf";
        size_t n = strlen(t);
        if (n >= cap) return -3;
        memcpy(out, t, n + 1);
        return (long)n;
    }
    if (isnan(v)) {
        if (cap < 4) return -3;
        memcpy(out, "nan", 4);
        return 3;
    }
    return human((long double)v, out, cap);
}

/*
 * Score parsing for sorted sets, with the platform's strtod as Redis uses it
 * (hex floats, "inf", "infinity" and all).
 *
 * ember_strtod parses s[0..len) up to its first NUL, like strtod on a C
 * string. It returns how many bytes were consumed; *range_err is set when
 * strtod reported ERANGE.
 */
long ember_strtod(const char *s, size_t len, double *out, int *range_err) {
    char stackbuf[128];
    char *buf = stackbuf;
    char *end;
    long consumed;
    if (len >= sizeof(stackbuf)) {
        buf = malloc(len + 1);
        if (buf == NULL) return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    *range_err = errno == ERANGE;
    consumed = (long)(end - buf);
    if (buf != stackbuf) free(buf);
    return consumed;
}

/*
 * A blocking command's timeout in seconds, as Redis's
 * getTimeoutFromObjectOrReply reads it: a long double (string2ld rules),
 * times 1000, rounded up. Returns 0 and the milliseconds in *ms, -1 if the
 * text is not a float, -2 if the value is out of range, -3 if negative.
 */
int ember_parse_timeout(const char *s, size_t len, long long *ms) {
    long double v;
    if (!parse_ld(s, len, &v)) return -1;
    v *= 1000.0L;
    if (v < 0) return -3;
    if (v > (long double)LLONG_MAX) return -2;
    *ms = (long long)ceill(v);
    return 0;
}

/* A score as Redis's ld2string(LD_STR_AUTO) prints it ("%.17Lg"), which is
 * what ZSCAN answers for a sorted set in its skiplist encoding. */
int ember_fmt_g17(double v, char *out, size_t cap) {
    int n = snprintf(out, cap, "%.17Lg", (long double)v);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}
