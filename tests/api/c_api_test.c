/* The public header used from plain C (no C++ types may cross it), linked
 * against the shared liblmig: every entry point the header promises is
 * there and behaves as documented on the easy paths. */
#include <lmig/lmig.h>

#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

int main(void) {
  CHECK(lmig_version() && lmig_version()[0]);
  CHECK(strcmp(lmig_status_name(LMIG_OK), "ok") == 0);
  CHECK(strcmp(lmig_status_name(LMIG_ERR_UNSUPPORTED), "unsupported") == 0);

  lmig_error err;
  memset(&err, 0, sizeof err);
  err.size = sizeof err;
  CHECK(lmig_check(4194304, &err) == LMIG_ERR_NO_SUCH_PROCESS);
  CHECK(err.code == LMIG_ERR_NO_SUCH_PROCESS);
  CHECK(strstr(err.message, "no process with PID 4194304") != NULL);

  /* options without a destination are refused, not crashed on */
  lmig_migrate_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.mode = LMIG_MODE_POSTCOPY;
  CHECK(lmig_migrate(1, &o, NULL, &err) == LMIG_ERR_INVALID_ARGUMENT);
  CHECK(lmig_migrate(1, NULL, NULL, NULL) == LMIG_ERR_INVALID_ARGUMENT);

  /* an older, smaller lmig_error gets only what fits */
  struct {
    uint32_t size;
    lmig_status code;
  } small_err = {sizeof small_err, LMIG_OK};
  CHECK(lmig_check(4194304, (lmig_error *)&small_err) == LMIG_ERR_NO_SUCH_PROCESS);

  /* a server: bad address, then a real one stopped before it serves */
  lmig_server_options so;
  memset(&so, 0, sizeof so);
  so.size = sizeof so;
  lmig_server *srv = NULL;
  so.listen = "no-port-here";
  CHECK(lmig_server_create(&so, &srv, &err) == LMIG_ERR_INVALID_ARGUMENT);
  CHECK(strstr(err.message, "HOST:PORT") != NULL);
  so.listen = "127.0.0.1:0";
  CHECK(lmig_server_create(&so, &srv, &err) == LMIG_OK);
  if (srv) {
    CHECK(lmig_server_port(srv) > 0);
    lmig_server_stop(srv);
    CHECK(lmig_server_run(srv, &err) == LMIG_OK);
    lmig_server_destroy(srv);
  }

  lmig_stats st;
  memset(&st, 0, sizeof st);
  st.size = sizeof st;
  st.mode = LMIG_MODE_POSTCOPY;
  st.downtime_ms = 1.5;
  char json[4096];
  size_t need = lmig_stats_to_json(&st, json, sizeof json);
  CHECK(need > 0 && need < sizeof json);
  CHECK(strstr(json, "\"mode\":\"postcopy\"") != NULL);
  CHECK(strstr(json, "\"downtime_ms\":1.500") != NULL);
  char tiny[8];
  CHECK(lmig_stats_to_json(&st, tiny, sizeof tiny) == need);
  CHECK(strlen(tiny) == sizeof tiny - 1);

  if (failures)
    fprintf(stderr, "%d check(s) failed\n", failures);
  else
    printf("C API: all checks passed\n");
  return failures ? 1 : 0;
}
