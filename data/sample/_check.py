import sys, re, collections
def check(path):
    raw=open(path,"rb").read()
    errs=[]
    if raw.startswith(b"\xef\xbb\xbf"): errs.append("BOM")
    if b"\r" in raw: errs.append("CR")
    if b"\t" in raw: errs.append("tab")
    t=raw.decode("utf-8")
    if not t.endswith("\n") or t.endswith("\n\n"): errs.append("bad ending")
    if "\n\n\n" in t: errs.append("multiple blank lines")
    if t.startswith("\n"): errs.append("leading blank")
    dias=[b.split("\n") for b in t.rstrip("\n").split("\n\n")]
    single=multi=utt=0; lens=collections.Counter()
    for i,d in enumerate(dias):
        if len(d)%2: errs.append(f"dialogue {i+1} odd lines")
        if len(d)==2: single+=1
        else: multi+=1
        lens[len(d)]+=1
        for j,l in enumerate(d):
            utt+=1
            n=len(l)
            if not l or l!=l.strip() or l.strip()!=l.strip(" \u3000"): errs.append(f"d{i+1} l{j+1} empty/space")
            if re.match(r"^(患者|医生|病人|用户|Patient|Doctor)\s*[：:]",l): errs.append(f"d{i+1} prefix")
            lo,hi=(8,60) if j%2==0 else (20,90)
            if not lo<=n<=hi: errs.append(f"d{i+1} l{j+1} len {n}: {l}")
    return dias,single,multi,utt,lens,errs
res={}
for p in ["train.txt","valid.txt"]:
    dias,s,m,u,lens,errs=check(p)
    res[p]=dias
    print(p,"dialogues",len(dias),"single",s,"multi",m,"utterances",u,"lines-per-dialogue",dict(sorted(lens.items())))
    for e in errs: print("  ERR",e)
tr=res["train.txt"]; va=res["valid.txt"]
ft=collections.Counter(d[0] for d in tr)
print("dup first lines in train:",[k for k,v in ft.items() if v>1])
trl=set(l for d in tr for l in d)
print("valid lines also in train:",[l for d in va for l in d if l in trl])
pl=[len(l) for d in tr+va for j,l in enumerate(d) if j%2==0]
dl=[len(l) for d in tr+va for j,l in enumerate(d) if j%2==1]
print("patient len min/max/mean",min(pl),max(pl),sum(pl)/len(pl))
print("doctor len min/max/mean",min(dl),max(dl),sum(dl)/len(dl))
em=sum(1 for d in tr+va if any("120" in l or "急诊" in l for l in d[1::2]))
print("dialogues mentioning 120/急诊 in doctor lines:",em)
