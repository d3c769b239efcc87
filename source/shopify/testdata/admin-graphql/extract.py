# Transcribes the types named in a spec file (one per line, "Type" or
# "Type:field,field") from Shopify's admin_schema.graphql (SOURCE.md):
#   python3 extract.py list.spec admin_schema.graphql > body
# list.graphql is its output under the header comment.
import re,sys
src=open(sys.argv[2]).read()
src=re.sub(r'"""[\s\S]*?"""','',src)
src=re.sub(r'^\s*"[^"\n]*"\s*$','',src,flags=re.M)
defs={}
for m in re.finditer(r'^(type|input|enum|interface|union|scalar)\s+(\w+)([^{\n]*)(\{[\s\S]*?^\})?',src,flags=re.M):
    defs[m.group(2)]=(m.group(1),m.group(4) or '')
def fields(body):
    body=body.strip()[1:-1]
    out=[];depth=0;cur=''
    for line in body.split('\n'):
        s=line.strip()
        if not s: continue
        cur+=(' ' if cur and depth else '')+s
        q=re.sub(r'"[^"]*"','',s); depth+=q.count('(')-q.count(')')
        if depth==0:
            cur=re.sub(r'\s+',' ',cur); cur=re.sub(r'\(\s+','(',cur); cur=re.sub(r'\s+\)',')',cur)
            out.append(cur); cur=''
    return out
def clean(f):
    dep = re.search(r'\)?\s*:\s*[\w\[\]!]+\s*@deprecated\(reason:\s*"([^"]*)"\)\s*$',f)
    # drop deprecated args
    m0=re.match(r'(\w+)\((.*)\)(\s*:.*)$',f)
    if m0:
        args=re.sub(r'\s*\w+:\s*[\w\[\]!]+(\s*=\s*\w+)?\s*@deprecated\(reason:\s*"[^"]*"\)','',m0.group(2))
        f=m0.group(1)+'('+args+')'+m0.group(3)
    f=re.sub(r'\(\s*','(',f)
    note=''
    m=re.search(r'\s*@deprecated\(reason:\s*"([^"]*)"\)\s*$',f)
    if m:
        note='  # deprecated: '+m.group(1).replace('`','')
        f=f[:m.start()]
    f=f.replace('()','')
    return f+note
for spec in open(sys.argv[1]).read().split('\n'):
    spec=spec.strip()
    if not spec or spec.startswith('//'): continue
    name,_,sel=spec.partition(':')
    if name in ('Int','Boolean','Float'): print('scalar',name); continue
    k,body=defs[name]
    if k=='scalar': print('scalar',name); continue
    fl=fields(body)
    if k=='enum':
        print(f"enum {name} {{"); [print('  '+re.sub(r'\s*@deprecated.*','',f)) for f in fl]; print('}\n'); continue
    if sel:
        keep=sel.split(',')
        fl=[f for f in fl if re.match(r'(\w+)',f).group(1) in keep]
        missing=set(keep)-{re.match(r'(\w+)',f).group(1) for f in fl}
        if missing: print('MISSING',name,missing,file=sys.stderr)
    print(f"{'type' if k in('type','interface') else k} {name} {{")
    for f in fl: print('  '+clean(f))
    print('}\n')
