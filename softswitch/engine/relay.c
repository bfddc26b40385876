/* The dispatcher's loop in C (docs/adr/0011): read datagrams from the public SIP socket in
 * batches (recvmmsg), pick each one's worker exactly as softswitch.engine.workers.worker_for
 * does, prefix it with its source as workers.wrap does, and hand the batch to the workers'
 * inboxes in one sendmmsg, all without the interpreter lock. Built by `make native`
 * (softswitch/native.py) into var/sip-native; without the build, dispatcher.py runs the same
 * loop in Python. tests/engine/test_workers.py checks that both route every message alike.
 *
 *   Relay(public_fd, sender_fd, inbox_ports).relay()
 *       one batch: None once the public socket is shut for reading (the dispatcher stops),
 *       else (dropped, lost): datagrams not handed over because an inbox was full, and
 *       [(host, port, errno)] of those that failed otherwise. A failed read raises OSError.
 *   worker_for(datagram, count) -> int
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 32
#define MAX_DATAGRAM 65535
#define MAX_WORKERS 256
#define PREFIX_SIZE (NI_MAXHOST + 8) /* "<host> <port>\n" */

/* ---- routing: the same decisions as workers.worker_for --------------------------------- */

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

/* zlib.crc32 */
static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Python's bytes \s */
static int is_space(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

typedef struct {
    const unsigned char *start;
    size_t length;
} Span;

/* Whether `name` (lower case) and then [ \t]* ":" begin at p (before end); where the value
 * starts if so. */
static const unsigned char *after_name(const unsigned char *p, const unsigned char *end,
                                       const char *name) {
    for (; *name; name++, p++)
        if (p >= end || lower(*p) != *name)
            return NULL;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return (p < end && *p == ':') ? p + 1 : NULL;
}

/* The first "\n<long or short>[ \t]*:" header before end, and its value: for a Call-ID the
 * first run of non-space characters after [ \t]* (none: no match there), for From or To the
 * rest of the line. */
static int first_header(const unsigned char *data, const unsigned char *end, const char *long_name,
                        const char *short_name, int call_id, Span *value) {
    for (const unsigned char *p = data; p < end; p++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (p == NULL)
            return 0;
        const unsigned char *v = after_name(p + 1, end, long_name);
        if (v == NULL)
            v = after_name(p + 1, end, short_name);
        if (v == NULL)
            continue;
        if (call_id)
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        const unsigned char *e = v;
        if (call_id)
            while (e < end && !is_space(*e))
                e++;
        else
            while (e < end && *e != '\r' && *e != '\n')
                e++;
        if (call_id && e == v)
            continue;
        value->start = v;
        value->length = (size_t)(e - v);
        return 1;
    }
    return 0;
}

/* WORKER_TAG: the first "-w<1 to 4 digits>" followed by "@" or the end; its number or -1. */
static int worker_tag(Span id) {
    const unsigned char *p = id.start, *end = id.start + id.length;
    for (; p + 2 < end; p++) {
        if (p[0] != '-' || p[1] != 'w')
            continue;
        const unsigned char *d = p + 2;
        int digits = 0, number = 0;
        while (digits < 4 && d < end && *d >= '0' && *d <= '9') {
            number = number * 10 + (*d++ - '0');
            digits++;
        }
        if (digits > 0 && (d == end || *d == '@'))
            return number;
    }
    return -1;
}

/* URI_USER matched at p: "sip:", "sips:" or "tel:" (any case); the user that follows. */
static int uri_user_at(const unsigned char *p, const unsigned char *end, Span *user) {
    static const char *schemes[] = {"sips:", "sip:", "tel:"};
    const unsigned char *u = NULL;
    for (int s = 0; s < 3 && u == NULL; s++) {
        size_t n = strlen(schemes[s]), k = 0;
        while (k < n && p + k < end && lower(p[k]) == schemes[s][k])
            k++;
        if (k == n)
            u = p + n;
    }
    if (u == NULL)
        return 0;
    const unsigned char *e = u;
    while (e < end && *e != '@' && *e != ';' && *e != '>' && !is_space(*e))
        e++;
    user->start = u;
    user->length = (size_t)(e - u);
    return 1;
}

/* workers._caller: the user of To (a response or a REGISTER) or From; within <> if any. */
static int caller(const unsigned char *data, size_t size, const unsigned char *end,
                  Span *user) {
    int to = (size >= 8 && memcmp(data, "SIP/2.0 ", 8) == 0) ||
             (size >= 9 && memcmp(data, "REGISTER ", 9) == 0);
    Span header;
    if (!first_header(data, end, to ? "to" : "from", to ? "t" : "f", 0, &header))
        return 0;
    const unsigned char *h_end = header.start + header.length;
    const unsigned char *bracket = NULL;
    for (const unsigned char *p = header.start; p < h_end; p++)
        if (*p == '<')
            bracket = p;
    if (bracket != NULL)
        return uri_user_at(bracket + 1, h_end, user);
    for (const unsigned char *p = header.start; p < h_end; p++)
        if (uri_user_at(p, h_end, user))
            return 1;
    return 0;
}

static int route(const unsigned char *data, size_t size, int count) {
    const unsigned char *end = data + size;
    for (const unsigned char *p = data; p + 3 < data + size; p++) { /* headers only */
        p = memchr(p, '\r', (size_t)(data + size - p));
        if (p == NULL || p + 3 >= data + size)
            break;
        if (p[1] == '\n' && p[2] == '\r' && p[3] == '\n') {
            end = p;
            break;
        }
    }
    Span id = {NULL, 0}, user;
    int has_id = first_header(data, end, "call-id", "i", 1, &id);
    if (has_id) {
        int tag = worker_tag(id);
        if (tag >= 0 && tag < count)
            return tag;
    }
    if (caller(data, size, end, &user) && user.length > 0)
        return (int)(crc32_of(user.start, user.length) % (uint32_t)count);
    if (has_id)
        return (int)(crc32_of(id.start, id.length) % (uint32_t)count);
    return 0;
}

static PyObject *worker_for(PyObject *module, PyObject *args) {
    Py_buffer data;
    int count;
    if (!PyArg_ParseTuple(args, "y*i", &data, &count))
        return NULL;
    if (count < 1) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "count must be at least 1");
        return NULL;
    }
    int worker = route(data.buf, (size_t)data.len, count);
    PyBuffer_Release(&data);
    return PyLong_FromLong(worker);
}

/* ---- the relay ------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD int public_fd;
    int sender_fd;
    int count;
    struct sockaddr_in inboxes[MAX_WORKERS];
    unsigned char *buffers;                    /* BATCH datagrams */
    char prefixes[BATCH][PREFIX_SIZE];         /* their sources, as workers.wrap writes them */
    struct sockaddr_storage sources[BATCH];
    struct iovec in_vectors[BATCH], out_vectors[BATCH][2];
    struct mmsghdr received[BATCH], outgoing[BATCH];
} Relay;

static void Relay_dealloc(Relay *self) {
    PyMem_RawFree(self->buffers);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Relay_init(Relay *self, PyObject *args, PyObject *kwargs) {
    PyObject *ports;
    if (!PyArg_ParseTuple(args, "iiO", &self->public_fd, &self->sender_fd, &ports))
        return -1;
    PyObject *sequence = PySequence_Fast(ports, "inbox ports must be a sequence");
    if (sequence == NULL)
        return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    if (count < 1 || count > MAX_WORKERS) {
        Py_DECREF(sequence);
        PyErr_Format(PyExc_ValueError, "between 1 and %d inboxes", MAX_WORKERS);
        return -1;
    }
    for (Py_ssize_t n = 0; n < count; n++) {
        long port = PyLong_AsLong(PySequence_Fast_GET_ITEM(sequence, n));
        if (port == -1 && PyErr_Occurred()) {
            Py_DECREF(sequence);
            return -1;
        }
        memset(&self->inboxes[n], 0, sizeof(self->inboxes[n]));
        self->inboxes[n].sin_family = AF_INET;
        self->inboxes[n].sin_port = htons((uint16_t)port);
        self->inboxes[n].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    Py_DECREF(sequence);
    self->count = (int)count;
    PyMem_RawFree(self->buffers);
    self->buffers = PyMem_RawMalloc((size_t)BATCH * MAX_DATAGRAM);
    if (self->buffers == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* The source's "<host> <port>\n", as workers.wrap writes it: an IPv4 peer of a dual-stack
 * socket as plain IPv4 (transport.unmapped). */
static size_t write_prefix(char *prefix, const struct sockaddr_storage *source, socklen_t size) {
    char host[NI_MAXHOST];
    int port;
    if (source->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)source;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        port = ntohs(v4->sin_port);
    } else {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)source;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
            inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], host, sizeof(host));
        else if (getnameinfo((const struct sockaddr *)source, size, host, sizeof(host), NULL, 0,
                             NI_NUMERICHOST) != 0)
            host[0] = '\0';
        port = ntohs(v6->sin6_port);
    }
    return (size_t)snprintf(prefix, PREFIX_SIZE, "%s %d\n", host, port);
}

/* Receive a batch: how many, 0 when the socket was shut for reading, -1 on error (errno). */
static int receive(Relay *self) {
    for (int n = 0; n < BATCH; n++) {
        self->in_vectors[n].iov_base = self->buffers + (size_t)n * MAX_DATAGRAM;
        self->in_vectors[n].iov_len = MAX_DATAGRAM;
        memset(&self->received[n].msg_hdr, 0, sizeof(struct msghdr));
        self->received[n].msg_hdr.msg_name = &self->sources[n];
        self->received[n].msg_hdr.msg_namelen = sizeof(self->sources[n]);
        self->received[n].msg_hdr.msg_iov = &self->in_vectors[n];
        self->received[n].msg_hdr.msg_iovlen = 1;
    }
    int got;
    do
        got = recvmmsg(self->public_fd, self->received, BATCH, MSG_WAITFORONE, NULL);
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        return got;
    for (int n = 0; n < got; n++)
        if (self->received[n].msg_hdr.msg_namelen == 0) /* shut: no source */
            return n == 0 ? 0 : n;
    return got;
}

static void address_outgoing(Relay *self, int n) {
    const unsigned char *data = self->in_vectors[n].iov_base;
    size_t size = self->received[n].msg_len;
    int worker = route(data, size, self->count);
    size_t prefix = write_prefix(self->prefixes[n], &self->sources[n],
                                 self->received[n].msg_hdr.msg_namelen);
    self->out_vectors[n][0].iov_base = self->prefixes[n];
    self->out_vectors[n][0].iov_len = prefix;
    self->out_vectors[n][1].iov_base = (void *)data;
    self->out_vectors[n][1].iov_len = size;
    memset(&self->outgoing[n].msg_hdr, 0, sizeof(struct msghdr));
    self->outgoing[n].msg_hdr.msg_name = &self->inboxes[worker];
    self->outgoing[n].msg_hdr.msg_namelen = sizeof(self->inboxes[worker]);
    self->outgoing[n].msg_hdr.msg_iov = self->out_vectors[n];
    self->outgoing[n].msg_hdr.msg_iovlen = 2;
}

typedef struct {
    int index;
    int error;
} Failure;

/* Hand over `count` datagrams; the number dropped because an inbox was full, and the other
 * failures (their index and errno) in failures. */
static int hand_over(Relay *self, int count, Failure *failures, int *failed) {
    int dropped = 0, next = 0;
    *failed = 0;
    while (next < count) {
        int sent = sendmmsg(self->sender_fd, self->outgoing + next, (unsigned)(count - next),
                            MSG_DONTWAIT);
        if (sent > 0) {
            next += sent;
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
            dropped++;
        else
            failures[(*failed)++] = (Failure){next, errno};
        next++; /* that one is lost; the rest still go */
    }
    return dropped;
}

static PyObject *lost_list(Relay *self, const Failure *failures, int failed) {
    PyObject *lost = PyList_New(failed);
    if (lost == NULL)
        return NULL;
    for (int k = 0; k < failed; k++) {
        const char *prefix = self->prefixes[failures[k].index];
        const char *space = strchr(prefix, ' ');
        PyObject *item = Py_BuildValue("(s#ii)", prefix, (Py_ssize_t)(space - prefix),
                                       atoi(space + 1), failures[k].error);
        if (item == NULL) {
            Py_DECREF(lost);
            return NULL;
        }
        PyList_SET_ITEM(lost, k, item);
    }
    return lost;
}

static PyObject *Relay_relay(Relay *self, PyObject *unused) {
    Failure failures[BATCH];
    int got, saved_errno = 0, dropped = 0, failed = 0;
    if (self->buffers == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Relay() was not initialised");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS;
    got = receive(self);
    saved_errno = errno;
    if (got > 0) {
        for (int n = 0; n < got; n++)
            address_outgoing(self, n);
        dropped = hand_over(self, got, failures, &failed);
    }
    Py_END_ALLOW_THREADS;
    if (got < 0) {
        errno = saved_errno;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (got == 0)
        Py_RETURN_NONE;
    PyObject *lost = lost_list(self, failures, failed);
    if (lost == NULL)
        return NULL;
    return Py_BuildValue("(iN)", dropped, lost);
}

static PyMethodDef Relay_methods[] = {
    {"relay", (PyCFunction)Relay_relay, METH_NOARGS,
     "Hand one batch of datagrams over: None once the socket is shut, else (dropped, lost)."},
    {NULL},
};

static PyTypeObject RelayType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "softswitch.engine._relay.Relay",
    .tp_basicsize = sizeof(Relay),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The dispatcher's loop: Relay(public_fd, sender_fd, inbox_ports).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Relay_init,
    .tp_dealloc = (destructor)Relay_dealloc,
    .tp_methods = Relay_methods,
};

static PyMethodDef module_methods[] = {
    {"worker_for", worker_for, METH_VARARGS, "The worker of a datagram, as workers.worker_for."},
    {NULL},
};

static struct PyModuleDef relay_module = {
    PyModuleDef_HEAD_INIT, "_relay", "The dispatcher's loop in C (relay.c).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__relay(void) {
    crc_init();
    if (PyType_Ready(&RelayType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&relay_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&RelayType);
    if (PyModule_AddObject(module, "Relay", (PyObject *)&RelayType) < 0) {
        Py_DECREF(&RelayType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
