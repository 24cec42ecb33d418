"""The field's web app: users, logins and item quantities, sessions in Redis.

Every request finds the current master through the sentinels
(SENTINEL get-master-addr-by-name via redis-py's Sentinel), so a failover is
followed without a restart; the session store and the data use the same
master_for client.
"""

import hashlib
import os
import socket
from datetime import timedelta

import redis
from flask import Flask, jsonify, request, session
from flask_session import Session
from redis.sentinel import Sentinel

SENTINELS = [
    (h.split(":")[0], int(h.split(":")[1]))
    for h in os.environ.get(
        "SENTINELS", "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379"
    ).split(",")
]
MASTER = os.environ.get("MASTER_NAME", "mymaster")

sentinel = Sentinel(SENTINELS, socket_timeout=1.0, socket_connect_timeout=1.0)
# A master_for client asks the sentinels for the master on each new
# connection and drops its connections when the master changes role.
db = sentinel.master_for(
    MASTER, socket_timeout=2.0, socket_connect_timeout=1.0, retry_on_timeout=False
)

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("SECRET_KEY", "change-me-in-production"),
    SESSION_TYPE="redis",
    SESSION_REDIS=db,
    SESSION_USE_SIGNER=True,
    SESSION_PERMANENT=True,
    PERMANENT_SESSION_LIFETIME=timedelta(minutes=10),
)
Session(app)
INSTANCE = os.environ.get("INSTANCE", socket.gethostname())


def pw_hash(email, password):
    return hashlib.sha256(f"{email}:{password}".encode()).hexdigest()


@app.before_request
def find_master():
    # Discover the master on every request, as the field's app does.
    if request.endpoint != "health":
        request.master = sentinel.discover_master(MASTER)


@app.after_request
def tag(resp):
    resp.headers["X-Instance"] = INSTANCE
    return resp


@app.errorhandler(redis.exceptions.RedisError)
def redis_down(e):
    return jsonify(error=f"{type(e).__name__}: {e}", instance=INSTANCE), 503


@app.route("/health")
def health():
    return "ok\n"


@app.route("/register", methods=["POST"])
def register():
    email, password = request.form["email"], request.form["password"]
    key = f"user:{email}"
    if db.exists(key):
        return jsonify(error="email already registered"), 409
    db.hset(key, mapping={"email": email, "password": pw_hash(email, password)})
    return jsonify(registered=email), 201


@app.route("/login", methods=["POST"])
def login():
    email, password = request.form["email"], request.form["password"]
    stored = db.hget(f"user:{email}", "password")
    if stored is None or stored.decode() != pw_hash(email, password):
        return jsonify(error="bad email or password"), 401
    session["email"] = email
    return jsonify(logged_in=email, instance=INSTANCE)


@app.route("/add", methods=["POST"])
def add():
    email = session.get("email")
    if not email:
        return jsonify(error="not logged in"), 401
    item, qty = request.form["item"], int(request.form.get("quantity", "1"))
    total = db.hincrby(f"items:{email}", item, qty)
    return jsonify(item=item, quantity=total, instance=INSTANCE)


@app.route("/get")
def get():
    email = session.get("email")
    if not email:
        return jsonify(error="not logged in"), 401
    items = {k.decode(): int(v) for k, v in db.hgetall(f"items:{email}").items()}
    return jsonify(
        email=email,
        items=items,
        instance=INSTANCE,
        master=f"{request.master[0]}:{request.master[1]}",
    )


@app.route("/delete", methods=["POST"])
def delete():
    email = session.get("email")
    if not email:
        return jsonify(error="not logged in"), 401
    db.delete(f"items:{email}", f"user:{email}")
    session.clear()
    return jsonify(deleted=email)
