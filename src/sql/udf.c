/*
 * udf.c - sql layer: scalar functions written in C (include/rill.h, rill_udf) made by CREATE
 * FUNCTION. The library is opened with dlopen; the function becomes an entry of the same kind
 * as the built-ins (functions.h), so the binder casts a call's arguments to the function's
 * argument types and the evaluator calls it for the rows a batch computes.
 *
 *   CREATE FUNCTION f AS 'symbol' LANGUAGE C USING JAR 'lib.so'  - the rill_udf named symbol
 *   CREATE FUNCTION f AS 'com.example.Class' [LANGUAGE JAVA]      - a rill_udf whose java_class
 *       is that name, in the rill_udfs list of a library of USING JAR or 'pipeline.jars'
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "functions.h"
#include "rill.h"
#include "sql_int.h"

/* ---- the function as a registry entry -------------------------------------------------------- */

typedef struct udf_info {
    rill__sql_fn fn; /* first: the registry entry is the whole */
    const rill_udf *udf;
    int n_args;
    const rill__sql_ltype **args; /* the argument types (nullable) */
    const rill__sql_ltype *result;
} udf_info;

static const rill__sql_ltype *udf_infer(rill__arena *a, const rill__sql_fn_call *call,
                                        const rill__sql_ltype **cast, char *msg, size_t cap)
{
    const udf_info *u = (const udf_info *)call->fn;
    (void)a;
    if (!u)
        return NULL;
    if (call->n_args != u->n_args) {
        snprintf(msg, cap, "Invalid number of arguments to function '%s': it takes %d",
                 call->name, u->n_args);
        return NULL;
    }
    for (int i = 0; i < u->n_args; i++) {
        const rill__sql_ltype *t = call->args[i]->type;
        if (t->root != RILL_SQLT_NULL && !rill__sql_cast_implicit(t, u->args[i]) &&
            !rill__sql_cast_explicit(t, u->args[i])) {
            rill__buf b = {0};
            rill__sql_type_describe(t, &b);
            rill__buf_putc(&b, '\0');
            snprintf(msg, cap, "Function '%s' cannot take argument %d of type %s", call->name,
                     i + 1, (const char *)b.data);
            rill__buf_free(&b);
            return NULL;
        }
        cast[i] = u->args[i];
    }
    return u->result;
}

static int udf_open(rill__sql_fn_ctx *c)
{
    const udf_info *u = (const udf_info *)c->x->fn;
    c->state = u->udf->open ? u->udf->open(u->udf) : NULL;
    return 0;
}

static void udf_close(rill__sql_fn_ctx *c)
{
    const udf_info *u = (const udf_info *)c->x->fn;
    if (u->udf->close)
        u->udf->close(c->state);
}

/* How a type's value travels in a rill_udf_value. */
typedef enum { V_INT, V_FLOAT, V_DOUBLE, V_BYTES } vkind;

static vkind vkind_of(const rill__sql_ltype *t)
{
    if (t->root == RILL_SQLT_DOUBLE)
        return V_DOUBLE;
    if (t->root == RILL_SQLT_FLOAT)
        return V_FLOAT;
    if (rill__sql_is_character(t) || rill__sql_is_binary(t))
        return V_BYTES;
    return V_INT;
}

static int udf_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const udf_info *u = (const udf_info *)c->x->fn;
    rill_udf_value in[16], res = {0};
    for (int i = 0; i < u->n_args; i++) {
        rill_udf_value *v = &in[i];
        *v = (rill_udf_value){.is_null = args[i].null};
        switch (vkind_of(u->args[i])) {
        case V_DOUBLE:
            v->d = rill__sql_val_double(&args[i]);
            break;
        case V_FLOAT:
            v->d = (double)rill__sql_val_float(&args[i]);
            break;
        case V_BYTES:
            v->s = args[i].null ? NULL : args[i].b;
            v->len = args[i].null ? 0 : args[i].len;
            break;
        default:
            v->i = (int64_t)args[i].v;
        }
    }
    char msg[256] = "";
    if (u->udf->eval(c->state, in, &res, msg, sizeof msg) != 0)
        return rill__sql_fn_fail(c, "Function '%s' failed: %s", u->udf->name,
                                 msg[0] ? msg : "(no message)");
    if (res.is_null) {
        out->null = true;
        return 0;
    }
    switch (vkind_of(u->result)) {
    case V_DOUBLE:
        rill__sql_val_set_double(out, res.d);
        break;
    case V_FLOAT:
        rill__sql_val_set_float(out, (float)res.d);
        break;
    case V_BYTES:
        if (res.len && !res.s)
            return rill__sql_fn_fail(c, "Function '%s' returned %zu bytes at NULL", u->udf->name,
                                     res.len);
        out->b = res.s;
        out->len = res.len;
        break;
    default:
        if (u->result->root == RILL_SQLT_BOOLEAN)
            res.i = res.i != 0;
        out->v = (uint64_t)res.i;
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------------------------- */

/* The type a rill_udf writes ("BIGINT", "STRING"...), as a nullable logical type, or NULL. */
static const rill__sql_ltype *type_of(rill__arena *a, const char *written)
{
    if (!written || strlen(written) > 200 || strchr(written, ';'))
        return NULL;
    char q[256];
    snprintf(q, sizeof q, "SELECT CAST(NULL AS %s)", written);
    rill__sql_ast *ast = NULL;
    rill__err e = {0};
    if (rill__sql_parse(q, 0, strlen(q), &ast, &e) != 0)
        return NULL;
    const rill__sql_ltype *t = NULL;
    const rill__sql_query *sel = ast->stmt->u.query;
    if (sel && sel->kind == RILL_SQL_Q_SELECT && sel->u.select.n_items == 1 &&
        sel->u.select.items[0].expr->kind == RILL_SQL_E_CAST)
        t = rill__sql_ltype_of(a, sel->u.select.items[0].expr->u.cast.type);
    rill__sql_ast_free(ast);
    if (t && (t->root == RILL_SQLT_DECIMAL || rill__sql_is_interval(t) ||
              rill__sql_is_constructed(t) ||
              (rill__sql_is_timestamp(t) && t->precision != 3)))
        return NULL; /* no rill_udf_value form (yet) */
    return t ? rill__sql_type_with_null(a, t, true) : NULL;
}

/* A library path as a script writes it: 'file:///x.so' or 'x.so'. */
static const char *lib_path(const char *p)
{
    return !strncmp(p, "file://", 7) ? p + 7 : p;
}

typedef struct found {
    void *lib;
    const rill_udf *udf;
} found;

/* Finds the function in library path: by symbol (LANGUAGE C), or by Java class in its
 * rill_udfs. 1 found, 0 not there, -1 the library cannot be opened (why in why). */
static int search(const char *path, const char *ident, bool by_class, found *f, char *why,
                  size_t cap)
{
    void *lib = dlopen(lib_path(path), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(why, cap, "cannot open '%s': %s", path, e ? e : "unknown error");
        return -1;
    }
    const rill_udf *u = NULL;
    if (!by_class) {
        u = dlsym(lib, ident);
    } else {
        const rill_udf *const *list = dlsym(lib, "rill_udfs");
        for (int i = 0; list && list[i] && !u && i < 4096; i++)
            if (list[i]->java_class && !strcmp(list[i]->java_class, ident))
                u = list[i];
    }
    if (!u) {
        dlclose(lib);
        return 0;
    }
    f->lib = lib;
    f->udf = u;
    return 1;
}

static const char *option(rill__sql_session *s, const char *key)
{
    for (size_t i = 0; i < s->n_opts; i++)
        if (!strcmp(s->opts[i].key, key))
            return s->opts[i].value;
    return NULL;
}

void rill__sql_function_free(sql_function *f)
{
    if (!f)
        return;
    rill__sql_ast_free(f->ast);
    if (f->lib)
        dlclose(f->lib);
    rill__arena_close(&f->arena);
    free(f);
}

int rill__sql_catalog_create_function(rill__sql_session *s, rill__sql_ast *ast, rill__err *err)
{
    const rill__sql_stmt *st = ast->stmt;
    const char *text = ast->text;
    const rill__sql_name *n = &st->u.create_function.name;
    const char *name = n->parts[n->n_parts - 1].text;
    const char *ident = st->u.create_function.identifier;
    rill__sql_language lang = st->u.create_function.language;
    if (n->n_parts > 1 && st->u.create_function.system)
        return rill__sql_error(err, text, n->pos, "A system function's name has one part");
    for (size_t i = 0; i < s->n_functions; i++)
        if (!strcasecmp(s->functions[i]->name, name)) {
            if (st->u.create_function.if_not_exists) {
                rill__sql_ast_free(ast);
                return 0;
            }
            return rill__sql_error(err, text, n->pos,
                                   "Function default_catalog.default_database.%s already exists",
                                   name);
        }
    if (lang == RILL_SQL_LANG_PYTHON)
        return rill__sql_error(err, text, st->pos,
                               "Python functions are not supported: rill runs functions "
                               "written in C (LANGUAGE C)");
    bool by_class = lang != RILL_SQL_LANG_C;
    /* where to look: USING JAR, then 'pipeline.jars' (';'-separated) */
    size_t n_paths = st->u.create_function.n_jars;
    const char *jars = option(s, "pipeline.jars");
    char *copy = jars ? rill__xstrdup(jars) : NULL;
    const char *paths[64];
    for (size_t i = 0; i < n_paths && i < 32; i++)
        paths[i] = st->u.create_function.jars[i];
    n_paths = RILL_MIN(n_paths, (size_t)32);
    for (char *save = NULL, *p = copy ? strtok_r(copy, ";,", &save) : NULL; p && n_paths < 64;
         p = strtok_r(NULL, ";,", &save))
        if (*p)
            paths[n_paths++] = p;
    found f = {0};
    char why[512] = "";
    int rc = 0;
    for (size_t i = 0; i < n_paths && rc != 1; i++) {
        char w[512];
        rc = search(paths[i], ident, by_class, &f, w, sizeof w);
        if (rc < 0 && !why[0])
            snprintf(why, sizeof why, "%s", w);
    }
    free(copy);
    if (rc != 1) {
        if (by_class)
            return rill__sql_error(err, text, st->pos,
                                   "Function class '%s' not found: rill runs functions written "
                                   "in C; give a library that defines it (its rill_udfs lists a "
                                   "rill_udf with java_class '%s') with USING JAR or SET "
                                   "'pipeline.jars'%s%s",
                                   ident, ident, why[0] ? ": " : "", why);
        return rill__sql_error(err, text, st->pos, "No C function '%s' in %s%s%s", ident,
                               n_paths ? "the libraries given" : "any library (USING JAR "
                                                                 "'lib.so' names one)",
                               why[0] ? ": " : "", why);
    }
    const rill_udf *u = f.udf;
    if (!u) /* search found it: not reached */
        return RILL_EINVAL;
    sql_function *fn = rill__xcalloc(1, sizeof *fn);
    rill__arena_init(&fn->arena, 4096);
    fn->lib = f.lib;
    fn->system = st->u.create_function.system;
    udf_info *info = rill__arena_alloc(&fn->arena, sizeof *info);
    memset(info, 0, sizeof *info);
    info->udf = u;
    const char *bad = NULL;
    if (u->abi != RILL_UDF_ABI)
        bad = "its abi is not RILL_UDF_ABI";
    else if (!u->eval)
        bad = "it has no eval";
    else if (u->n_args < 0 || u->n_args > 16 || (u->n_args && !u->arg_types))
        bad = "its arguments are not 0 to 16 types";
    else if (!(info->result = type_of(&fn->arena, u->result_type)))
        bad = "its result type is not one rill_udf_value carries (BOOLEAN, integers, FLOAT, "
              "DOUBLE, strings, bytes, DATE, TIME, TIMESTAMP(3), TIMESTAMP_LTZ(3))";
    info->n_args = u->n_args;
    info->args = rill__arena_alloc(&fn->arena, (size_t)(u->n_args + 1) * sizeof *info->args);
    for (int i = 0; !bad && i < u->n_args; i++)
        if (!(info->args[i] = type_of(&fn->arena, u->arg_types[i])))
            bad = "an argument type is not one rill_udf_value carries";
    if (bad) {
        rill__sql_function_free(fn);
        return rill__sql_error(err, text, st->pos, "C function '%s' cannot be used: %s", ident,
                               bad);
    }
    char *uname = rill__arena_alloc(&fn->arena, strlen(name) + 1);
    for (size_t i = 0; name[i]; i++)
        uname[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    uname[strlen(name)] = '\0';
    info->fn = (rill__sql_fn){.name = uname,
                         .min_args = u->n_args,
                         .max_args = u->n_args,
                         .flags = (u->flags & RILL_UDF_NULL_ON_NULL ? RILL_SQLF_STRICT : 0) |
                                  (u->flags & RILL_UDF_VOLATILE ? RILL_SQLF_VOLATILE : 0),
                         .infer = udf_infer,
                         .row = udf_row,
                         .open = udf_open,
                         .close = udf_close};
    fn->fn = &info->fn;
    fn->name = uname;
    fn->ast = ast;
    rill__grow((void **)&s->functions, &s->cap_functions, s->n_functions + 1,
               sizeof *s->functions);
    s->functions[s->n_functions++] = fn;
    return 0;
}

int rill__sql_catalog_drop_function(rill__sql_session *s, const rill__sql_stmt *st,
                                    const char *text, rill__err *err)
{
    const rill__sql_name *n = &st->u.drop.name;
    const char *name = n->parts[n->n_parts - 1].text;
    for (size_t i = 0; i < s->n_functions; i++)
        if (!strcasecmp(s->functions[i]->name, name)) {
            rill__sql_function_free(s->functions[i]);
            memmove(s->functions + i, s->functions + i + 1,
                    (s->n_functions - i - 1) * sizeof *s->functions);
            s->n_functions--;
            return 0;
        }
    if (st->u.drop.if_exists)
        return 0;
    return rill__sql_error(err, text, n->pos,
                           "Function default_catalog.default_database.%s does not exist", name);
}

const rill__sql_fn *rill__sql_find_function(rill__sql_session *s, const char *name, bool system)
{
    for (size_t i = 0; i < s->n_functions; i++)
        if (s->functions[i]->system == system && !strcasecmp(s->functions[i]->name, name))
            return s->functions[i]->fn;
    return NULL;
}
