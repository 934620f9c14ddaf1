/*
 * rtpgen: the external RTP load generator of bench/outside (issue 17 §1, performance.md §0).
 *
 * One process, one thread, epoll + timerfd. It binds UDP sockets on 127.0.0.1, sends RTP flows with pre-encoded
 * payloads at their packet rate, the flows spread evenly over the 20 ms interval (flow i of n starts at i * 20 / n
 * ms), and receives what the target sends back: delivered packets, one-way latency (p50 / p99 / max) and the share
 * later than 20 ms. Driven by line commands on stdin:
 *
 *   sockets N                       bind N sockets; prints "ports P0 P1 ..."
 *   payload ID PATH                 entries: u16be length, u8 marker, u32be timestamp delta, payload bytes
 *   tx SOCK DSTPORT PT SSRC PAYLOAD PPS STAMP IMPULSE
 *                                   a flow from socket SOCK to 127.0.0.1:DSTPORT. STAMP=1: the payload's last 12
 *                                   bytes carry magic, flow index and send time (µs), for passthrough latency.
 *                                   IMPULSE=K>0: entries whose index is a multiple of K carry an impulse; their send
 *                                   times are kept for the impulse latency of the flow's partner receiver.
 *   rx SOCK MODE PARTNER            MODE: stamp (latency from the tail stamp), ulaw (count, and latency of the
 *                                   impulses of tx flow PARTNER detected in the decoded µ-law), count (count only)
 *   run WARM_MS MEASURE_MS          sends; prints "start T" (its start, CLOCK_MONOTONIC µs: tail stamps count from
 *                                   it), "measure" when the window opens and "end" when it closes, drains
 *                                   300 ms, then prints one JSON line of figures and exits.
 *
 * Only packets sent inside the window count (stamp mode: by the stamp; other modes: by arrival inside the window).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKS 4096
#define MAX_FLOWS 4096
#define MAX_PAYLOADS 16
#define MAGIC 0x52545047u /* "RTPG" */
#define LATE_US 20000
#define MAX_LAT (8u << 20)

struct entry {
  uint16_t len;
  uint8_t marker;
  uint32_t tsdelta;
  const uint8_t *data;
};
struct payload {
  struct entry *e;
  size_t n;
};
struct flow {
  int sock;
  struct sockaddr_in dst;
  uint8_t pt;
  uint32_t ssrc, ts;
  uint16_t seq;
  int payload;
  size_t idx;
  double period_us, next_us;
  int stamp, impulse;
  int64_t imp_us; /* send time of the last impulse, -1 none */
  int imp_in_window;
};
enum rxmode { RX_NONE, RX_STAMP, RX_ULAW, RX_COUNT };
struct rx {
  enum rxmode mode;
  int partner;
  int64_t last_detect_us;
};

static int socks[MAX_SOCKS];
static int nsocks;
static struct payload payloads[MAX_PAYLOADS];
static struct flow flows[MAX_FLOWS];
static int nflows;
static struct rx rxs[MAX_SOCKS];
static uint32_t *lat;
static size_t nlat;
static uint64_t sent, received, late, rx_bytes, impulses_sent;
static uint64_t rx_by_mode[4];
static int64_t t_start_us, t_win0, t_win1;

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int ulaw_decode(uint8_t u) {
  u = (uint8_t)~u;
  int t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return (u & 0x80) ? (0x84 - t) : (t - 0x84);
}

static void load_payload(int id, const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL || id < 0 || id >= MAX_PAYLOADS) {
    fprintf(stderr, "rtpgen: cannot read payload %s\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)size);
  if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
    exit(2);
  }
  fclose(f);
  size_t cap = 64, n = 0;
  struct entry *e = malloc(cap * sizeof *e);
  for (long off = 0; off + 7 <= size;) {
    if (n == cap) {
      cap *= 2;
      e = realloc(e, cap * sizeof *e);
    }
    e[n].len = (uint16_t)((buf[off] << 8) | buf[off + 1]);
    e[n].marker = buf[off + 2];
    e[n].tsdelta = ((uint32_t)buf[off + 3] << 24) | ((uint32_t)buf[off + 4] << 16) | ((uint32_t)buf[off + 5] << 8) | buf[off + 6];
    e[n].data = buf + off + 7;
    off += 7 + e[n].len;
    n++;
  }
  payloads[id].e = e;
  payloads[id].n = n;
}

static void send_one(struct flow *fl, int fi, int64_t t) {
  static uint8_t pkt[2048];
  struct payload *p = &payloads[fl->payload];
  size_t i = fl->idx % p->n;
  struct entry *e = &p->e[i];
  fl->ts += e->tsdelta;
  pkt[0] = 0x80;
  pkt[1] = (uint8_t)(((e->marker || fl->idx == 0) ? 0x80 : 0) | fl->pt);
  pkt[2] = (uint8_t)(fl->seq >> 8);
  pkt[3] = (uint8_t)fl->seq;
  uint32_t v[2] = {htonl(fl->ts), htonl(fl->ssrc)};
  memcpy(pkt + 4, v, 8);
  size_t len = e->len;
  memcpy(pkt + 12, e->data, len);
  if (fl->stamp && len >= 12) {
    uint32_t s[3] = {htonl(MAGIC), htonl((uint32_t)fi), htonl((uint32_t)(t - t_start_us))};
    memcpy(pkt + 12 + len - 12, s, 12);
  }
  int in_win = t >= t_win0 && t < t_win1;
  if (fl->impulse > 0 && i % (size_t)fl->impulse == 0) {
    fl->imp_us = t;
    fl->imp_in_window = in_win;
    impulses_sent += in_win;
  }
  if (sendto(socks[fl->sock], pkt, 12 + len, MSG_DONTWAIT, (struct sockaddr *)&fl->dst, sizeof fl->dst) >= 0 && in_win) {
    sent++;
  }
  fl->seq++;
  fl->idx++;
}

static void add_lat(int64_t d) {
  if (d > LATE_US) {
    late++;
  }
  if (nlat < MAX_LAT) {
    lat[nlat++] = (uint32_t)(d < 0 ? 0 : d);
  }
}

static void on_packet(int si, const uint8_t *b, ssize_t n, int64_t t) {
  if (n < 12 || (b[0] >> 6) != 2) {
    return;
  }
  int pt = b[1] & 0x7f;
  if (pt >= 72 && pt <= 79) {
    return; /* RTCP */
  }
  struct rx *r = &rxs[si];
  size_t off = 12 + 4u * (b[0] & 0x0f);
  if ((b[0] & 0x10) && (size_t)n >= off + 4) {
    off += 4 + 4u * (size_t)((b[off + 2] << 8) | b[off + 3]);
  }
  size_t end = (size_t)n;
  if ((b[0] & 0x20) && end > off) {
    end -= b[end - 1];
  }
  if (off > end) {
    return;
  }
  if (r->mode == RX_STAMP) {
    if (end - off < 12) {
      return;
    }
    uint32_t s[3];
    memcpy(s, b + end - 12, 12);
    if (ntohl(s[0]) != MAGIC) {
      return;
    }
    int64_t st = t_start_us + ntohl(s[2]);
    if (st < t_win0 || st >= t_win1) {
      return;
    }
    received++;
    rx_by_mode[RX_STAMP]++;
    rx_bytes += (uint64_t)n;
    add_lat(t - st);
    return;
  }
  if (t < t_win0 || t >= t_win1 + 300000) {
    return;
  }
  if (t < t_win1) {
    received++;
    rx_by_mode[r->mode]++;
    rx_bytes += (uint64_t)n;
  }
  if (r->mode == RX_ULAW && r->partner >= 0 && r->partner < nflows) {
    int peak = 0;
    for (size_t k = off; k < end; k++) {
      int s = abs(ulaw_decode(b[k]));
      peak = s > peak ? s : peak;
    }
    struct flow *fl = &flows[r->partner];
    if (peak > 20000 && t - r->last_detect_us > 500000) {
      r->last_detect_us = t;
      if (fl->imp_us >= 0 && fl->imp_in_window && t - fl->imp_us < 1000000) {
        add_lat(t - fl->imp_us);
        fl->imp_in_window = 0;
      }
    }
  }
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  char line[4096];
  int64_t warm_ms = 1000, measure_ms = 5000;
  lat = malloc(MAX_LAT * sizeof *lat);
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin) != NULL) {
    char path[3000];
    int a, b, c, d, e, f, g, h;
    unsigned int ssrc;
    if (sscanf(line, "sockets %d", &a) == 1) {
      printf("ports");
      for (int i = 0; i < a && nsocks < MAX_SOCKS; i++) {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int sz = 1 << 20;
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof sa;
        if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || getsockname(s, (struct sockaddr *)&sa, &sl) != 0) {
          perror("rtpgen: bind");
          return 2;
        }
        rxs[nsocks].mode = RX_NONE;
        socks[nsocks++] = s;
        printf(" %d", ntohs(sa.sin_port));
      }
      printf("\n");
    } else if (sscanf(line, "payload %d %2999s", &a, path) == 2) {
      load_payload(a, path);
    } else if (sscanf(line, "tx %d %d %d %u %d %d %d %d", &a, &b, &c, &ssrc, &e, &f, &g, &h) == 8) {
      if (nflows >= MAX_FLOWS || a < 0 || a >= nsocks || e < 0 || e >= MAX_PAYLOADS || payloads[e].n == 0 || f <= 0) {
        fprintf(stderr, "rtpgen: bad tx line: %s", line);
        return 2;
      }
      struct flow *fl = &flows[nflows++];
      memset(fl, 0, sizeof *fl);
      fl->sock = a;
      fl->dst.sin_family = AF_INET;
      fl->dst.sin_port = htons((uint16_t)b);
      fl->dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      fl->pt = (uint8_t)c;
      fl->ssrc = ssrc;
      fl->seq = (uint16_t)(ssrc * 7919u);
      fl->ts = ssrc * 104729u;
      fl->payload = e;
      fl->period_us = 1e6 / f;
      fl->stamp = g;
      fl->impulse = h;
      fl->imp_us = -1;
    } else if (sscanf(line, "rx %d %7s %d", &a, path, &d) == 3) {
      if (a < 0 || a >= nsocks) {
        return 2;
      }
      rxs[a].mode = strcmp(path, "stamp") == 0 ? RX_STAMP : strcmp(path, "ulaw") == 0 ? RX_ULAW : RX_COUNT;
      rxs[a].partner = d;
      rxs[a].last_detect_us = 0;
    } else if (sscanf(line, "run %d %d", &a, &b) == 2) {
      warm_ms = a;
      measure_ms = b;
      break;
    }
  }
  int ep = epoll_create1(0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)MAX_SOCKS};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  for (int i = 0; i < nsocks; i++) {
    struct epoll_event e2 = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, socks[i], &e2);
  }
  t_start_us = now_us();
  printf("start %lld\n", (long long)t_start_us);
  t_win0 = t_start_us + warm_ms * 1000;
  t_win1 = t_win0 + measure_ms * 1000;
  int64_t t_stop = t_win1 + 300000;
  for (int i = 0; i < nflows; i++) {
    flows[i].next_us = (double)t_start_us + (20000.0 * i) / nflows;
  }
  struct rusage ru0;
  int opened = 0, closed = 0;
  uint8_t buf[2048];
  struct epoll_event evs[256];
  for (;;) {
    int64_t t = now_us();
    if (!opened && t >= t_win0) {
      opened = 1;
      getrusage(RUSAGE_SELF, &ru0);
      printf("measure\n");
    }
    if (!closed && t >= t_win1) {
      closed = 1;
      printf("end\n");
    }
    if (t >= t_stop) {
      break;
    }
    double next = (double)t_stop;
    if (t < t_win1) {
      for (int i = 0; i < nflows; i++) {
        struct flow *fl = &flows[i];
        while (fl->next_us <= (double)t) {
          send_one(fl, i, t);
          fl->next_us += fl->period_us;
        }
        next = fl->next_us < next ? fl->next_us : next;
      }
    }
    if (!opened && (double)t_win0 < next) {
      next = (double)t_win0;
    }
    if (!closed && (double)t_win1 < next) {
      next = (double)t_win1;
    }
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)(next / 1e6);
    its.it_value.tv_nsec = (long)((next - (double)its.it_value.tv_sec * 1e6) * 1000);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) {
      its.it_value.tv_nsec = 1;
    }
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    int n = epoll_wait(ep, evs, 256, 1000);
    int64_t tr = now_us();
    for (int k = 0; k < n; k++) {
      uint32_t si = evs[k].data.u32;
      if (si == MAX_SOCKS) {
        uint64_t x;
        while (read(tfd, &x, sizeof x) > 0) {
        }
        continue;
      }
      for (;;) {
        ssize_t r = recv(socks[si], buf, sizeof buf, MSG_DONTWAIT);
        if (r < 0) {
          break;
        }
        on_packet((int)si, buf, r, tr);
      }
    }
  }
  struct rusage ru1;
  getrusage(RUSAGE_SELF, &ru1);
  double gen_cpu_us = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e6 + (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
                      (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 + (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
  qsort(lat, nlat, sizeof *lat, cmp_u32);
  uint32_t p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(nlat * 99) / 100] : 0, mx = nlat ? lat[nlat - 1] : 0;
  printf("{\"sent\":%llu,\"received\":%llu,\"late\":%llu,\"latN\":%zu,\"p50Us\":%u,\"p99Us\":%u,\"maxUs\":%u,"
         "\"rxBytes\":%llu,\"impulses\":%llu,\"rxUlaw\":%llu,\"rxCount\":%llu,\"genCpuUs\":%.0f,\"windowUs\":%lld}\n",
         (unsigned long long)sent, (unsigned long long)received, (unsigned long long)late, nlat, p50, p99, mx,
         (unsigned long long)rx_bytes, (unsigned long long)impulses_sent, (unsigned long long)rx_by_mode[RX_ULAW],
         (unsigned long long)rx_by_mode[RX_COUNT], gen_cpu_us, (long long)(t_win1 - t_win0));
  return 0;
}
