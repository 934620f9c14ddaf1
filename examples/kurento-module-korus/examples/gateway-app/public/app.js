(function () {
  "use strict";
  var korus = (window.korus = {
    pc: null,
    states: [],
    errors: [],
    dtmfIn: "",
    level: 0,
    maxLevel: 0,
    peakHz: 0,
    incoming: null,
  });
  var ws = null;
  var localStream = null;
  var audioCtx = null;
  var levelTimer = null;
  var statsWaiters = [];
  // The relay WebSocket sits next to this script: /demo/gateway/app.js → /demo/gateway/ws (an app serving the
  // same page at /app.js uses /ws).
  var wsUrl = new URL("ws", document.currentScript.src).href.replace(/^http/, "ws");
  var $ = function (id) {
    return document.getElementById(id);
  };

  function log(text, isError) {
    var line = document.createElement("div");
    line.textContent = new Date().toISOString().slice(11, 23) + " " + text;
    if (isError) line.className = "err";
    $("log").appendChild(line);
    $("log").scrollTop = $("log").scrollHeight;
  }
  function fail(text) {
    korus.errors.push(text);
    log(text, true);
  }
  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }
  function setInCall(inCall) {
    $("dial").disabled = inCall;
    $("hangup").disabled = !inCall;
  }

  function openSocket() {
    return new Promise(function (resolve, reject) {
      if (ws && ws.readyState === WebSocket.OPEN) return resolve(ws);
      var url = wsUrl;
      ws = new WebSocket(url);
      ws.onopen = function () {
        resolve(ws);
      };
      ws.onerror = function () {
        reject(new Error("cannot reach " + url));
      };
      ws.onclose = function () {
        ws = null;
        cleanup("signalling closed");
      };
      ws.onmessage = function (e) {
        onMessage(JSON.parse(e.data));
      };
    });
  }

  function onMessage(msg) {
    switch (msg.id) {
      case "answer":
        korus.pc.setRemoteDescription({ type: "answer", sdp: msg.sdpAnswer }).catch(function (e) {
          fail("answer: " + e);
        });
        break;
      case "candidate":
        if (korus.pc)
          korus.pc.addIceCandidate(msg.candidate).catch(function (e) {
            fail("candidate: " + e);
          });
        break;
      case "state":
        korus.states.push(msg.state);
        $("state").textContent = msg.state;
        $("cause").textContent = msg.sipStatus
          ? "(SIP " + msg.sipStatus + (msg.q850Cause ? ", Q.850 " + msg.q850Cause : "") + ")"
          : "";
        log("call " + msg.state + (msg.sipStatus ? " " + msg.sipStatus : ""));
        if (msg.state === "TERMINATED") cleanup("call ended");
        break;
      case "dtmf":
        korus.dtmfIn += msg.digit;
        $("dtmfIn").textContent = korus.dtmfIn;
        break;
      case "stats":
        statsWaiters.splice(0).forEach(function (w) {
          w({ webrtc: msg.webrtc, sip: msg.sip });
        });
        break;
      case "incoming":
        korus.incoming = { from: msg.from, to: msg.to };
        $("incomingFrom").textContent = msg.from + " → " + msg.to;
        $("incoming").hidden = false;
        log("incoming call from " + msg.from);
        break;
      case "trunks":
        msg.trunks.forEach(function (name) {
          var o = document.createElement("option");
          o.value = name;
          o.textContent = name;
          $("trunk").appendChild(o);
        });
        break;
      case "error":
        fail(msg.message);
        break;
    }
  }

  function startLevel(stream) {
    audioCtx = new AudioContext();
    var analyser = audioCtx.createAnalyser();
    analyser.fftSize = 2048;
    audioCtx.createMediaStreamSource(stream).connect(analyser);
    var buf = new Float32Array(analyser.fftSize);
    var spectrum = new Float32Array(analyser.frequencyBinCount);
    levelTimer = setInterval(function () {
      analyser.getFloatTimeDomainData(buf);
      var sum = 0;
      for (var i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      var rms = Math.sqrt(sum / buf.length);
      korus.level = rms;
      if (rms > korus.maxLevel) korus.maxLevel = rms;
      var db = rms > 0 ? 20 * Math.log10(rms) : -Infinity;
      $("meterBar").style.width = Math.max(0, Math.min(100, ((db + 60) / 60) * 100)) + "%";
      analyser.getFloatFrequencyData(spectrum);
      var peak = 1;
      for (var k = 2; k < spectrum.length; k++) if (spectrum[k] > spectrum[peak]) peak = k;
      korus.peakHz = rms > 0.001 ? Math.round((peak * audioCtx.sampleRate) / analyser.fftSize) : 0;
      $("levelDb").textContent = isFinite(db)
        ? db.toFixed(1) + " dBFS" + (korus.peakHz ? ", ≈ " + korus.peakHz + " Hz" : "")
        : "silence";
    }, 100);
    if (audioCtx.state === "suspended") audioCtx.resume();
  }

  function cleanup(why) {
    if (levelTimer) clearInterval(levelTimer);
    levelTimer = null;
    if (audioCtx) audioCtx.close();
    audioCtx = null;
    if (korus.pc) {
      korus.pc.close();
      log(why);
    }
    korus.pc = null;
    if (localStream)
      localStream.getTracks().forEach(function (t) {
        t.stop();
      });
    localStream = null;
    $("meterBar").style.width = "0";
    $("levelDb").textContent = "–";
    setInCall(false);
  }

  function dial(uri, trunk) {
    log("dialling " + uri);
    return startCall(function (sdpOffer) {
      return { id: "call", uri: uri, trunk: trunk, sdpOffer: sdpOffer };
    });
  }

  function accept() {
    $("incoming").hidden = true;
    korus.incoming = null;
    return startCall(function (sdpOffer) {
      return { id: "accept", sdpOffer: sdpOffer };
    });
  }

  /** Microphone, peer connection and offer; then the relay message first(sdpOffer) starts the call. */
  function startCall(first) {
    korus.states = [];
    return openSocket()
      .then(function () {
        return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      })
      .then(function (stream) {
        localStream = stream;
        var pc = (korus.pc = new RTCPeerConnection());
        stream.getTracks().forEach(function (t) {
          pc.addTrack(t, stream);
        });
        pc.onicecandidate = function (e) {
          if (e.candidate) send({ id: "candidate", candidate: e.candidate.toJSON() });
        };
        pc.ontrack = function (e) {
          var remote = e.streams[0] || new MediaStream([e.track]);
          $("remote").srcObject = remote;
          startLevel(remote);
        };
        pc.onconnectionstatechange = function () {
          log("media " + pc.connectionState);
        };
        setInCall(true);
        return pc
          .createOffer()
          .then(function (offer) {
            return pc.setLocalDescription(offer);
          })
          .then(function () {
            send(first(pc.localDescription.sdp));
          });
      })
      .catch(function (e) {
        fail(String(e));
        cleanup("could not dial");
      });
  }

  korus.dial = dial;
  korus.hangup = function () {
    send({ id: "hangup" });
    cleanup("hung up");
  };
  korus.sendDtmf = function (digits) {
    send({ id: "dtmf", digits: digits });
  };
  korus.relayStats = function () {
    return new Promise(function (resolve) {
      statsWaiters.push(resolve);
      send({ id: "stats" });
    });
  };

  $("dialForm").addEventListener("submit", function (e) {
    e.preventDefault();
    dial($("uri").value.trim(), $("trunk").value);
  });
  $("hangup").addEventListener("click", korus.hangup);
  korus.accept = accept;
  $("accept").addEventListener("click", accept);
  $("decline").addEventListener("click", function () {
    $("incoming").hidden = true;
    korus.incoming = null;
    send({ id: "decline" });
  });
  "123456789*0#".split("").forEach(function (d) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = d;
    b.addEventListener("click", function () {
      korus.sendDtmf(d);
      log("DTMF " + d);
    });
    $("keypad").appendChild(b);
  });
  openSocket().then(
    function () {
      send({ id: "trunks" });
    },
    function (e) {
      fail(String(e));
    },
  );
})();
